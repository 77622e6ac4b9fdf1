/**
 * The Kubernetes manifests as `kubectl kustomize` (the machine's kubectl) renders each overlay, and
 * their offline validation against the Kubernetes schemas: kubernetes-models (npm) carries the JSON
 * schemas generated from the Kubernetes OpenAPI document, @kubernetes-models/prometheus-operator the
 * ServiceMonitor's CRD schema. Nothing is fetched at test time.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const exec = promisify(execFile);
export const K8S = fileURLToPath(new URL('../../deploy/k8s', import.meta.url));
export const OVERLAYS = ['gantry', 'datacentre'] as const;

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
  [k: string]: unknown;
}

export async function render(dir: string): Promise<K8sObject[]> {
  const { stdout } = await exec('kubectl', ['kustomize', dir], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  return parseAllDocuments(stdout).map((d) => d.toJS() as K8sObject).filter(Boolean);
}

/** The model class of an object's apiVersion and kind (core group: `kubernetes-models/v1/<Kind>`). */
async function modelOf(o: K8sObject): Promise<new (data: unknown) => { validate(): void }> {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : [undefined, o.apiVersion];
  const mod = group === 'monitoring.coreos.com'
    ? await import(`@kubernetes-models/prometheus-operator/${group}/${version}/${o.kind}`)
    : await import(group ? `kubernetes-models/${group}/${version}/${o.kind}` : `kubernetes-models/${version}/${o.kind}`);
  const cls = mod[o.kind];
  if (typeof cls !== 'function') throw new Error(`no schema for ${o.apiVersion} ${o.kind}`);
  return cls;
}

/** Validates one object against its schema; throws with the object's kind and name. */
export async function validateObject(o: K8sObject): Promise<void> {
  const Model = await modelOf(o);
  try {
    new Model(o).validate();
  } catch (err) {
    throw new Error(`${o.kind}/${o.metadata?.name}: ${String(err)}`, { cause: err });
  }
}

/** Every overlay rendered and every object validated: the number of objects. */
export async function validateOverlays(): Promise<number> {
  let n = 0;
  for (const overlay of OVERLAYS) {
    for (const o of await render(join(K8S, 'overlays', overlay))) {
      await validateObject(o);
      n++;
    }
  }
  return n;
}
