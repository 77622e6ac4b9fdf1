/**
 * Two sites in one stack, each with its own cache, Globus source and
 * destination endpoint, and its own cleaner; one batcher, watcher and
 * clowder-ingest serve both. Site B's destination is unreachable (the Globus
 * simulator answers 502 ExternalError to every submission to it): its
 * batches wait and retry, its consumer pauses on its own
 * (MAX_WAITING_BATCHES), and the broker holds its backlog, while site A's
 * files keep arriving, are deleted from A's cache and registered in Clowder.
 * Nothing is dead-lettered or given up. When B's endpoint answers again, B's
 * files arrive too. Files enter through each cleaner's POST /api/v1/files.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { topology } from '@terra-transfer/contracts';
import { destinationRelPath } from '@terra-transfer/site-layout';
import { ServiceProcess, serviceEntry, LOCAL, CLOWDER_COMM_KEY } from '@terra-transfer/stack';
import { stringifySites, testSite } from '@terra-transfer/sites';
import { AMQP_URL, REDIS_URL, deleteKeys, deleteTopology, drainQueue, freePort, queueDepth, tempDir, uniquePrefix, waitFor } from '@terra-transfer/testkit';

const SITES = ['site-a', 'site-b'] as const;
type SiteName = (typeof SITES)[number];
const EP = {
  'site-a': { src: 'aaaaaaaa-0000-4000-8000-0000000000a1', dst: 'bbbbbbbb-0000-4000-8000-0000000000a2' },
  'site-b': { src: 'aaaaaaaa-0000-4000-8000-0000000000b1', dst: 'bbbbbbbb-0000-4000-8000-0000000000b2' },
};

it('one site\'s failing destination stalls only that site; the other keeps arriving, being deleted and registered', async () => {
  const dir = await tempDir('sites-isolation');
  const prefix = uniquePrefix('sites');
  const cache = (s: SiteName) => join(dir.path, `cache-${s}`);
  const dest = join(dir.path, 'hpc');
  for (const s of SITES) await mkdir(cache(s), { recursive: true });
  await mkdir(dest, { recursive: true });
  const sitesFile = join(dir.path, 'sites.yaml');
  await writeFile(sitesFile, stringifySites(SITES.map((s) => testSite({
    name: s, cacheRoot: cache(s), sourceEndpoint: EP[s].src, destinationEndpoint: EP[s].dst, destinationRoot: `/${s}`,
    batch: { maxFiles: 1, maxAgeSeconds: 0.2 }, localRoot: join(dest, s),
  }))));

  const names = ['globus-sim', 'clowder-sim', 'batcher', 'watcher', 'cleaner-site-a', 'cleaner-site-b', 'clowder-ingest'] as const;
  const port = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()]))) as Record<(typeof names)[number], number>;
  const url = (n: (typeof names)[number]) => `http://127.0.0.1:${port[n]}`;
  const common = { LOG_LEVEL: 'warn', HTTP_HOST: '127.0.0.1', AMQP_URL, AMQP_PREFIX: prefix, REDIS_URL, REDIS_PREFIX: prefix, SITES_FILE: sitesFile, SHUTDOWN_DRAIN_MS: '3000' };
  const globus = {
    GLOBUS_AUTH_URL: url('globus-sim'), GLOBUS_TRANSFER_URL: `${url('globus-sim')}/v0.10`,
    GLOBUS_CLIENT_ID: LOCAL.globusClientId, GLOBUS_CLIENT_SECRET: LOCAL.globusClientSecret,
  };
  const proc = (name: (typeof names)[number], service: string, env: Record<string, string>) =>
    new ServiceProcess(name, serviceEntry(service), { HTTP_PORT: String(port[name]), ...env });
  const infra = [
    proc('globus-sim', 'globus-sim', {
      LOG_LEVEL: 'warn', HTTP_HOST: '127.0.0.1', GLOBUS_SIM_ADMIN_TOKEN: LOCAL.simAdminToken, GLOBUS_SIM_RETRY_INTERVAL_MS: '500', GLOBUS_SIM_TICK_MS: '100', GLOBUS_SIM_RATE_LIMIT_PER_SEC: '0',
      GLOBUS_SIM_ENDPOINTS: JSON.stringify(Object.fromEntries(SITES.flatMap((s) => [[EP[s].src, { root: cache(s), display_name: `${s} cache` }], [EP[s].dst, { root: dest, display_name: `${s} hpc` }]]))),
      GLOBUS_SIM_CLIENTS: JSON.stringify({ [LOCAL.globusClientId]: { secret: LOCAL.globusClientSecret, identity: LOCAL.globusIdentity } }),
    }),
    proc('clowder-sim', 'clowder-sim', {
      LOG_LEVEL: 'warn', HTTP_HOST: '127.0.0.1', CLOWDER_SIM_DATA_DIR: join(dir.path, 'clowder'), CLOWDER_SIM_COMM_KEY: CLOWDER_COMM_KEY, CLOWDER_SIM_SOURCEPATHS: '/home/clowder/sites',
    }),
  ];
  const services = [
    // Each file is its own batch, and a site pauses as soon as two of its batches wait.
    proc('batcher', 'batcher', { ...common, ...globus, MAX_WAITING_BATCHES: '1', MAX_CONCURRENT_SUBMITS: '1' }),
    proc('watcher', 'watcher', { ...common, ...globus, API_TOKEN: 'w', POLL_MIN_MS: '1000', POLL_MAX_MS: '2000' }),
    ...SITES.map((s) => proc(`cleaner-${s}`, 'cleaner', { ...common, SITE: s, API_TOKEN: LOCAL.apiToken })),
    proc('clowder-ingest', 'clowder-ingest', { ...common, CLOWDER_URL: url('clowder-sim'), CLOWDER_KEY: CLOWDER_COMM_KEY }),
  ];
  const t = topology(prefix, SITES);
  const outcomes: Array<{ type: string; data: { site: string; path?: string; destinationPath?: string; files?: unknown[] } }> = [];
  const readOutcomes = async () => {
    for (const m of await drainQueue(AMQP_URL, t.queue('outcomes'))) outcomes.push(JSON.parse(m.content.toString()));
    return outcomes;
  };
  const files: Record<SiteName, string[]> = { 'site-a': [], 'site-b': [] };
  const put = async (s: SiteName, n: number) => {
    const path = join(cache(s), `MovingSensor/stereoTop/2026-11-24/2026-11-24__12-00-${String(n).padStart(2, '0')}-000/f${n}.bin`);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, Buffer.alloc(1000 + n, `${s} ${n}`));
    files[s].push(path);
    return path;
  };
  const submit = async (s: SiteName, paths: string[]) => {
    const res = await fetch(`${url(`cleaner-${s}`)}/api/v1/files`, {
      method: 'POST', headers: { authorization: `Bearer ${LOCAL.apiToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ site: s, paths }),
    });
    expect(res.status).toBe(200);
    const a = (await res.json()) as { accepted: unknown[]; refused: unknown[] };
    expect(a.refused).toEqual([]);
    expect(a.accepted).toHaveLength(paths.length);
  };
  // Outcomes come per chunk (decision 0053): count the files each names.
  const done = async (s: SiteName, type: 'file.deleted' | 'file.ingested') => (await readOutcomes()).filter((o) => o.type === type && o.data.site === s).reduce((n, o) => n + (o.data.files?.length ?? 1), 0);
  const metric = async (name: string, labels: string) => {
    const text = await (await fetch(`${url('batcher')}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };
  const deadLetters = async () => {
    let n = 0;
    for (const q of t.queues().filter((x) => !x.tap)) n += await queueDepth(AMQP_URL, q.deadLetter);
    return n;
  };
  const fault = (method: 'POST' | 'DELETE', body?: unknown) => fetch(`${url('globus-sim')}/admin/faults`, {
    method, headers: { authorization: `Bearer ${LOCAL.simAdminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
  });

  try {
    for (const p of infra) p.start();
    await Promise.all(infra.map((p, i) => p.waitReady(port[names[i]!], 60_000)));
    for (const p of services) p.start();
    await Promise.all(services.map((p, i) => p.waitReady(port[names[i + 2]!], 60_000)));

    // Site B's destination becomes unreachable.
    expect((await fault('POST', { kind: '502-external', count: 100_000, destinationEndpoint: EP['site-b'].dst })).status).toBe(201);
    const bPaths: string[] = [];
    for (let i = 0; i < 8; i++) bPaths.push(await put('site-b', i));
    await submit('site-b', bPaths);
    await waitFor('site-b paused in the batcher', async () => (await metric('terra_transfer_batcher_paused', 'site="site-b"')) === 1, 60_000, 250);

    // Site A keeps flowing while B is stalled: arrives, deleted from A's cache, registered in Clowder.
    const aPaths: string[] = [];
    for (let i = 0; i < 5; i++) aPaths.push(await put('site-a', 20 + i));
    await submit('site-a', aPaths);
    await waitFor('site-a deleted and registered', async () => (await done('site-a', 'file.deleted')) >= 5 && (await done('site-a', 'file.ingested')) >= 5, 120_000, 500);
    for (const p of aPaths) {
      expect(existsSync(p)).toBe(false);
      expect(existsSync(join(dest, 'site-a', destinationRelPath(p.slice(cache('site-a').length + 1))))).toBe(true);
    }
    expect(await metric('terra_transfer_batcher_paused', 'site="site-a"')).toBe(0);
    // B's files wait in the cache, unsent, with nothing dead-lettered or given up; its backlog is on the broker.
    expect(await done('site-b', 'file.deleted')).toBe(0);
    for (const p of bPaths) expect(existsSync(p)).toBe(true);
    expect(await queueDepth(AMQP_URL, t.queue({ key: 'batcherUploads', site: 'site-b' }))).toBeGreaterThan(0);
    expect(await deadLetters()).toBe(0);
    expect(await queueDepth(AMQP_URL, t.queue('failedFiles'))).toBe(0);

    // B's endpoint answers again: its stored batches go through on their next retry, and the paused consumer resumes.
    expect((await fault('DELETE')).status).toBe(200);
    await waitFor('site-b deleted and registered', async () => (await done('site-b', 'file.deleted')) >= bPaths.length && (await done('site-b', 'file.ingested')) >= bPaths.length, 240_000, 1000);
    for (const p of bPaths) expect(existsSync(p)).toBe(false);
    expect(await deadLetters()).toBe(0);
    expect(await queueDepth(AMQP_URL, t.queue('failedFiles'))).toBe(0);
  } catch (err) {
    for (const p of [...services, ...infra]) process.stderr.write(`--- ${p.name}\n${p.output().slice(-3000)}\n`);
    throw err;
  } finally {
    await Promise.all(services.map((p) => p.stop().catch(() => undefined)));
    await Promise.all(infra.map((p) => p.stop().catch(() => undefined)));
    await deleteTopology(prefix);
    await deleteKeys(prefix);
    await dir.remove();
  }
}, 480_000);
