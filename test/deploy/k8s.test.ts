/**
 * deploy/k8s: each overlay renders with the machine's kubectl (kustomize), every object validates
 * offline against the Kubernetes schemas (kubernetes-models), and a policy holds on every workload:
 * probes (readiness /readyz, liveness /healthz), resource requests and limits, non-root, read-only
 * root file system, no privilege escalation, all capabilities dropped, secrets only by reference,
 * the site file from a ConfigMap, and a Service, PodDisruptionBudget and ServiceMonitor per Deployment.
 */
import { join } from 'node:path';
import { SERVICE_SIDES } from '@terra-transfer/stack';
import { K8S, OVERLAYS, render, validateObject, validateOverlays, type K8sObject } from './k8s.js';

const SECRET_ENV = /^(AMQP_URL|REDIS_URL|DATABASE_URL|API_TOKEN|READ_TOKEN|CLOWDER_KEY|GLOBUS_CLIENT_ID|GLOBUS_CLIENT_SECRET)$/;

describe.each(OVERLAYS)('overlay %s', (overlay) => {
  let objects: K8sObject[] = [];
  beforeAll(async () => {
    objects = await render(join(K8S, 'overlays', overlay));
  });

  it('renders, and every object validates against the Kubernetes schemas', async () => {
    expect(objects.length).toBeGreaterThan(0);
    for (const o of objects) await validateObject(o);
  });

  it('every workload has probes, limits, a locked-down security context and its secrets by reference', () => {
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    expect(deployments.length).toBe(3);
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const c of pod.containers) {
        const where = `${d.metadata.name}/${c.name}`;
        expect([where, c.readinessProbe?.httpGet?.path]).toEqual([where, '/readyz']);
        expect([where, c.livenessProbe?.httpGet?.path]).toEqual([where, '/healthz']);
        for (const r of ['cpu', 'memory']) {
          expect([where, r, typeof c.resources?.requests?.[r]]).toEqual([where, r, 'string']);
          expect([where, r, typeof c.resources?.limits?.[r]]).toEqual([where, r, 'string']);
        }
        expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true });
        expect(c.securityContext.capabilities.drop).toContain('ALL');
        expect(c.image).toMatch(/:[\w.-]+$/);
        expect(c.image).not.toMatch(/:latest$/);
        for (const e of c.env as Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: unknown } }>) {
          if (SECRET_ENV.test(e.name)) expect([where, e.name, e.value, !!e.valueFrom?.secretKeyRef]).toEqual([where, e.name, undefined, true]);
        }
        const sites = pod.volumes.find((v: { name: string }) => v.name === 'sites');
        expect(sites?.configMap?.name).toMatch(/^terra-transfer-sites-/); // the generated ConfigMap, hash-suffixed
        expect(c.volumeMounts).toContainEqual({ name: 'sites', mountPath: '/etc/terra', readOnly: true });
      }
      // A Service, a PodDisruptionBudget and a ServiceMonitor select its pods.
      const labels = d.spec.template.metadata.labels as Record<string, string>;
      const selects = (sel: Record<string, string> | undefined) => !!sel && Object.entries(sel).every(([k, v]) => labels[k] === v);
      expect([d.metadata.name, objects.some((o) => o.kind === 'Service' && selects(o.spec.selector))]).toEqual([d.metadata.name, true]);
      expect([d.metadata.name, objects.some((o) => o.kind === 'PodDisruptionBudget' && selects(o.spec.selector.matchLabels))]).toEqual([d.metadata.name, true]);
      expect([d.metadata.name, objects.some((o) => o.kind === 'ServiceMonitor' && selects(o.spec.selector.matchLabels))]).toEqual([d.metadata.name, true]);
    }
  });
});

it('the validator rejects what Kubernetes would reject', async () => {
  const bad = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'two', selector: {}, template: {} } };
  await expect(validateObject(bad as unknown as K8sObject)).rejects.toThrow(/Deployment\/x/);
  expect(await validateOverlays()).toBeGreaterThan(20);
});

it('the gantry side mounts the cache where the FTP server writes, writable only by the cleaner', async () => {
  const objects = await render(join(K8S, 'overlays', 'gantry'));
  const pv = objects.find((o) => o.kind === 'PersistentVolume' && o.metadata.name === 'terra-cache');
  expect(pv?.spec.local.path).toBe('/gantry_data');
  for (const d of objects.filter((o) => o.kind === 'Deployment')) {
    const m = (d.spec.template.spec.containers[0].volumeMounts as Array<{ name: string; mountPath: string; readOnly?: boolean }>).find((v) => v.name === 'cache');
    expect(m?.mountPath).toBe('/cache');
    expect([d.metadata.name, m?.readOnly ?? false]).toEqual([d.metadata.name, d.metadata.name !== 'cleaner']);
  }
});

it('each side\'s services use its broker side (AMQP_SIDE), as the two-broker test runs them', async () => {
  for (const overlay of OVERLAYS) {
    const objects = await render(join(K8S, 'overlays', overlay));
    const settings = objects.find((o) => o.kind === 'ConfigMap' && String(o.metadata.name).startsWith('terra-transfer-settings'));
    const side = (settings as unknown as { data: Record<string, string> }).data['amqp-side'];
    expect([overlay, side]).toEqual([overlay, overlay === 'gantry' ? 'site' : 'datacentre']);
    for (const d of objects.filter((o) => o.kind === 'Deployment')) {
      const env = d.spec.template.spec.containers[0].env as Array<{ name: string; valueFrom?: { configMapKeyRef?: { key: string } } }>;
      expect([d.metadata.name, env.find((e) => e.name === 'AMQP_SIDE')?.valueFrom?.configMapKeyRef?.key]).toEqual([d.metadata.name, 'amqp-side']);
      expect([d.metadata.name, SERVICE_SIDES[d.metadata.name as keyof typeof SERVICE_SIDES]]).toEqual([d.metadata.name, side]);
    }
  }
});
