/**
 * The operated stack, built and run for real (`make test-deploy`, part of `make test`):
 *
 * 1. The production image is built from deploy/docker/Dockerfile on the project's own Docker
 *    engine (deploy/docker/dockerd.sh; no registry here, so the base is Debian bookworm + Node 24
 *    from deploy/docker/base-image.sh, cached by its hash). Its promises are checked from the
 *    outside: Node 24, a non-root numeric user, tini as PID 1, a HEALTHCHECK, OCI labels, no dev
 *    dependencies, tests or benchmarks, and exit 78 naming the key on a bad setting.
 * 2. The services and the simulators are brought up from deploy/compose/compose.yaml by Debian's
 *    docker-compose, every container waited on until Docker reports it healthy (readiness).
 *    Stand-ins: this engine has no bridge and no image can be pulled, so the containers use the
 *    host's network (test/deploy/compose.host.yaml) and the machine's own RabbitMQ (a vhost of this
 *    test's own, made and deleted through the management API), Redis (a key prefix of its own) and
 *    PostgreSQL (a database of its own) replace the rabbitmq, redis and postgres containers.
 * 3. Gantry uploads (files + xferlog lines) move through the pipeline; each must arrive with its
 *    bytes, leave the cache and be registered in the Clowder simulator once, nothing dead-lettered.
 * 4. `docker-compose stop` must end every service cleanly (exit 0: SIGTERM reached Node through
 *    tini), then `down -v` must leave no container, network or volume; the daemon is stopped.
 *
 * Prints one JSON line: {"image_built", "image_mb", "containers_healthy", "files_verified", ...}.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Gantry, LOCAL, Stack, layout, verify, type ExpectedFile, type Verdict } from '@terra-transfer/stack';
import { stringifySites } from '@terra-transfer/sites';
import { deleteKeys, freePort, tempDir, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { Engine, REPO, must } from './docker.js';
import { validateOverlays } from './k8s.js';
import { TestPrometheus } from './prometheus.js';

const exec = promisify(execFile);
const IMAGE = 'terra-transfer:test-deploy';
const SERVICES = ['globus-sim', 'clowder-sim', 'log-tailer', 'batcher', 'watcher', 'cleaner', 'clowder-ingest', 'transfer-log'] as const;
type Svc = (typeof SERVICES)[number];
const PORT_VARS: Record<Svc, string> = {
  'log-tailer': 'LOG_TAILER_PORT', batcher: 'BATCHER_PORT', watcher: 'WATCHER_PORT', cleaner: 'CLEANER_PORT',
  'clowder-ingest': 'CLOWDER_INGEST_PORT', 'transfer-log': 'TRANSFER_LOG_PORT', 'globus-sim': 'GLOBUS_SIM_PORT', 'clowder-sim': 'CLOWDER_SIM_PORT',
};
const MGMT = 'http://127.0.0.1:15672/api';
const MGMT_AUTH = `Basic ${Buffer.from('guest:guest').toString('base64')}`;
const FILES_DATASETS = 6;
const step = (t0: number, what: string) => process.stderr.write(`deploy ${((Date.now() - t0) / 1000).toFixed(1)}s: ${what}\n`);

async function mgmt(method: string, path: string, body?: unknown): Promise<Response> {
  // Bounded: a loaded broker was seen to take tens of seconds over a vhost.
  return fetch(`${MGMT}${path}`, { method, signal: AbortSignal.timeout(180_000), headers: { authorization: MGMT_AUTH, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
}

async function psql(sql: string): Promise<void> {
  await exec('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-q', '-c', sql], { timeout: 60_000 });
}

it('the image is built, the compose stack comes up healthy, files go through it, and nothing is left behind', async () => {
  const t0 = Date.now();
  const result = { image_built: false, image_mb: 0, containers_healthy: 0, files_verified: 0, k8s_objects_valid: 0, prometheus_targets_up: 0, dashboard_queries_ok: 0 };
  const engine = await Engine.start();
  const prefix = uniquePrefix('deploy');
  const project = prefix.replace(/[^a-z0-9]/g, '');
  const vhost = prefix;
  const db = `terra_tlog_${prefix.replace(/[^a-z0-9]/g, '_')}`;
  const dir = await tempDir('deploy');
  let env: Record<string, string> = {};
  let up = false;
  let failure: unknown;
  try {
    // The Kubernetes manifests (test/deploy/k8s.test.ts checks their policy): rendered and validated offline.
    result.k8s_objects_valid = await validateOverlays();
    // --- 1. the image -------------------------------------------------------------------------
    await must(`${REPO}deploy/docker/build-image.sh`, [IMAGE], { DOCKER_HOST: engine.host }, 1_500_000);
    const inspect = JSON.parse(await engine.mustDocker(['image', 'inspect', IMAGE]))[0] as {
      Size: number; Config: { User: string; Entrypoint: string[]; Healthcheck?: { Test: string[] }; Labels: Record<string, string> };
    };
    result.image_built = true;
    result.image_mb = Math.round(inspect.Size / 1e6);
    step(t0, `image built (${result.image_mb} MB)`);
    expect(inspect.Config.User).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(inspect.Config.Entrypoint).toEqual(['/usr/bin/tini', '--', 'node']);
    expect(inspect.Config.Healthcheck?.Test.join(' ')).toContain('/healthz');
    for (const l of ['title', 'description', 'version', 'revision', 'created']) expect(inspect.Config.Labels[`org.opencontainers.image.${l}`]).toBeTruthy();
    const node = await engine.mustDocker(['run', '--rm', '--network', 'host', IMAGE, '-p', 'process.version']);
    expect(node.trim()).toMatch(/^v24\./);
    // Production dependencies only: no test runner, compiler, browser driver, sources, tests or benchmarks.
    const contents = await engine.mustDocker(['run', '--rm', '--network', 'host', '--entrypoint', 'sh', IMAGE, '-c',
      'ls node_modules/.pnpm; find /app -name "*.test.js" -o -name "*.ts" ! -name "*.d.ts" -o -type d \\( -name src -o -name bench -o -name dist-bench -o -name testkit \\) | grep -v node_modules; true']);
    expect(contents).not.toMatch(/^(jest|typescript|@swc|playwright|@types\+jest)/m);
    expect(contents).not.toMatch(/^\/app\/(packages|services)\//m);
    // A bad setting: exit 78, the key named, not a crash loop (docker run does not restart).
    const bad = await engine.docker(['run', '--rm', '--network', 'host', '-e', 'HTTP_PORT=not-a-port', IMAGE, 'services/batcher/dist/main.js']);
    expect(bad.code).toBe(78);
    expect(bad.stdout + bad.stderr).toContain('HTTP_PORT');

    // --- 2. the stack -------------------------------------------------------------------------
    const work = dir.path;
    const l = layout(work);
    for (const d of [l.cacheRoot, l.destRoot, l.logDir, l.stateDir]) {
      await mkdir(d, { recursive: true });
      await chmod(d, 0o777); // the containers' user (1000) writes the destination and deletes from the cache
    }
    const sitesFile = join(work, 'sites.yaml');
    // Paths as the containers see them (compose.yaml mounts /cache, /var/log/ftp and /hpc).
    await writeFile(sitesFile, stringifySites([{
      name: 'ua-mac',
      source: { kind: 'xferlog', xferlog: '/var/log/ftp/xferlog', cacheRoot: '/cache', ftpRoot: '/gantry_data' },
      whitelist: ['MovingSensor/stereoTop', 'MovingSensor/flirIrCamera', 'MovingSensor/scanner3DTop', 'LemnaTec/EnvironmentLogger'],
      globus: { sourceEndpoint: LOCAL.sourceEndpoint, sourceRoot: '/' },
      destinations: [{ name: 'hpc', endpoint: LOCAL.destinationEndpoint, root: '/ua-mac', batch: { maxFiles: 50, maxAgeSeconds: 2 } }],
      clowder: { space: { name: 'ua-mac' }, collectionRoot: '/home/clowder/sites/ua-mac', localRoot: '/hpc/ua-mac', skipDatasets: [] },
      deletion: { policy: 'delete-after-verified-transfer' },
    }]));
    await chmod(sitesFile, 0o644);
    // The stand-ins: a vhost, a database, a key prefix of this test's own.
    expect((await mgmt('PUT', `/vhosts/${encodeURIComponent(vhost)}`, {})).ok).toBe(true);
    expect((await mgmt('PUT', `/permissions/${encodeURIComponent(vhost)}/guest`, { configure: '.*', write: '.*', read: '.*' })).ok).toBe(true);
    await psql(`CREATE DATABASE ${db}`);
    const ports = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await freePort()]))) as Record<Svc, number>;
    env = {
      TERRA_IMAGE: IMAGE, LOG_LEVEL: 'warn', TERRA_PREFIX: prefix,
      RABBITMQ_USER: 'guest', RABBITMQ_PASSWORD: 'guest', RABBITMQ_VHOST: encodeURIComponent(vhost),
      POSTGRES_USER: 'postgres', POSTGRES_PASSWORD: 'unused-trust-auth', POSTGRES_DB: db, GRAFANA_ADMIN_PASSWORD: 'unused',
      SITE: 'ua-mac', SITES_FILE: sitesFile, FTP_LOG_DIR: l.logDir, CACHE_DIR: l.cacheRoot, HPC_DIR: l.destRoot,
      CACHE_UID: '1000', CACHE_GID: '1000', API_TOKEN: LOCAL.apiToken,
      GLOBUS_AUTH_URL: `http://globus-sim:${ports['globus-sim']}`, GLOBUS_TRANSFER_URL: `http://globus-sim:${ports['globus-sim']}/v0.10`,
      GLOBUS_CLIENT_ID: LOCAL.globusClientId, GLOBUS_CLIENT_SECRET: LOCAL.globusClientSecret,
      WATCHER_POLL_MIN_MS: '1000', WATCHER_POLL_MAX_MS: '3000',
      CLOWDER_URL: `http://clowder-sim:${ports['clowder-sim']}`, CLOWDER_KEY: 'deploy-test-commkey', SIM_ADMIN_TOKEN: LOCAL.simAdminToken,
      GLOBUS_SIM_RETRY_INTERVAL_MS: '1000',
      GLOBUS_SIM_ENDPOINTS: JSON.stringify({
        [LOCAL.sourceEndpoint]: { root: '/cache', display_name: 'ua-mac cache' },
        [LOCAL.destinationEndpoint]: { root: '/hpc', display_name: 'HPC file system' },
      }),
      GLOBUS_SIM_CLIENTS: JSON.stringify({ [LOCAL.globusClientId]: { secret: LOCAL.globusClientSecret, identity: LOCAL.globusIdentity, username: 'terra-transfer@clients.auth.globus.org' } }),
      ...Object.fromEntries(SERVICES.map((s) => [PORT_VARS[s], String(ports[s])])),
    };
    up = true;
    const upRun = await engine.compose(project, env, ['--profile', 'sim', 'up', '-d', '--no-deps', ...SERVICES], 300_000);
    if (upRun.code !== 0) throw new Error(`docker-compose up failed: ${upRun.stderr.slice(-3000)}`);
    step(t0, 'compose up');
    const ids = (await engine.compose(project, env, ['--profile', 'sim', 'ps', '-q'])).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
    expect(ids).toHaveLength(SERVICES.length);
    const health = async (): Promise<Record<string, string>> => Object.fromEntries(await Promise.all(ids.map(async (id) => {
      const [name, state, status] = (await engine.mustDocker(['inspect', '-f', '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}', id])).trim().split(' ');
      return [name!.replace(/^\//, ''), `${state}/${status}`];
    })));
    try {
      // Fails at once when a container gave up (exited: a bad setting exits 78 and is not restarted for ever).
      await waitFor('every container healthy', async () => {
        const h = Object.values(await health());
        if (h.some((s) => s.startsWith('exited/'))) return 'exited';
        return h.every((s) => s === 'running/healthy') && 'healthy';
      }, 240_000, 1000).then((s) => {
        if (s === 'exited') throw new Error('a container exited before it was healthy');
      });
    } finally {
      process.stderr.write(`deploy health: ${JSON.stringify(await health())}\n`);
    }
    result.containers_healthy = Object.values(await health()).filter((s) => s === 'running/healthy').length;
    step(t0, `${result.containers_healthy} containers healthy`);

    // --- 3. files through the pipeline ----------------------------------------------------------
    const gantry = new Gantry({ cacheRoot: l.cacheRoot, logDir: l.logDir, ftpRoot: '/gantry_data', rotateEvery: 0, abortShare: 0, downloadShare: 0, outsideShare: 0, seed: 7 });
    // The FTP server writes as the cache's owner; here the test does, with a umask that lets the cleaner (uid 1000) delete.
    const umask = process.umask(0);
    try {
      for (let i = 0; i < FILES_DATASETS; i++) await gantry.dataset();
    } finally {
      process.umask(umask);
    }
    const expected: ExpectedFile[] = gantry.uploads.filter((u) => u.expected).map((u) => ({ rel: u.rel, size: u.size, md5: u.md5 }));
    // verify() reads the stack from the outside: the destination and cache on disk, the simulators' APIs, the broker and Redis.
    const view = new Stack(SERVICES.map((s) => ({
      name: s, port: ports[s],
      env: { AMQP_URL: `amqp://guest:guest@127.0.0.1:5672/${encodeURIComponent(vhost)}`, AMQP_PREFIX: prefix, REDIS_URL: 'redis://127.0.0.1:6379', SITES_FILE: sitesFile },
    })));
    // The compose site file keeps TERRA's default (clowder.metadataAsFile false): a dataset's metadata.json is
    // attached as its metadata, not registered as a file.
    const metadataFiles = expected.filter((e) => e.rel.endsWith('metadata.json')).length;
    let verdict: Verdict | undefined;
    await waitFor('every file verified', async () => {
      verdict = await verify(view, l, expected);
      return (
        verdict.arrived === expected.length &&
        verdict.inCache.length === 0 &&
        verdict.clowder.distinctFilePaths === expected.length - metadataFiles &&
        verdict.clowder.datasetsWithMetadata === metadataFiles
      );
    }, 240_000, 2000).catch((err) => {
      throw new Error(`${String(err)}; verdict: ${JSON.stringify(verdict)}`);
    });
    expect(verdict!.deletedPrematurely).toEqual([]);
    expect(verdict!.clowder.duplicates).toBe(0);
    expect(Object.values(verdict!.deadLettered).reduce((a, b) => a + b, 0)).toBe(0);
    result.files_verified = verdict!.arrived;
    step(t0, `${result.files_verified} files verified`);

    // --- 4. Prometheus scrapes the running stack: targets up, alert rules and dashboard queries answer -------
    const promDir = join(work, 'prometheus');
    await mkdir(promDir);
    const prom = await TestPrometheus.start(promDir, { ...ports });
    try {
      const pv = await prom.check(6);
      process.stderr.write(`deploy prometheus: ${pv.rules} rules, ${pv.dashboardQueriesOk}/${pv.dashboardQueries} dashboard queries; skipped (no RabbitMQ plugin on the machine's broker): ${JSON.stringify(pv.skipped)}\n`);
      expect(pv.problems).toEqual([]);
      result.prometheus_targets_up = pv.targetsUp;
      result.dashboard_queries_ok = pv.dashboardQueriesOk;
    } finally {
      await prom.stop();
    }
    step(t0, 'prometheus checked');

    // --- 5. graceful stop: SIGTERM reaches node through tini, every service exits 0 -------------
    const stop = await engine.compose(project, env, ['--profile', 'sim', 'stop', '-t', '30'], 180_000);
    expect(stop.code).toBe(0);
    const exits = Object.fromEntries(await Promise.all(ids.map(async (id) => (await engine.mustDocker(['inspect', '-f', '{{.Name}} {{.State.ExitCode}}', id])).trim().split(' '))));
    expect(exits).toEqual(Object.fromEntries(Object.keys(exits).map((n) => [n, '0'])));
  } catch (err) {
    failure = err;
    if (up) {
      const logs = await engine.compose(project, env, ['--profile', 'sim', 'logs', '--no-color', '--tail', '40']);
      process.stderr.write(`deploy: container logs\n${logs.stdout.slice(-20_000)}\n`);
    }
  } finally {
    if (up) {
      const down = await engine.compose(project, env, ['--profile', 'sim', 'down', '-v', '--remove-orphans', '-t', '10'], 180_000);
      if (down.code !== 0) process.stderr.write(`deploy: compose down failed: ${down.stderr}\n`);
    }
    const left = await engine.leftovers(project).catch((err: unknown) => ({ error: String(err) }));
    await engine.stop();
    await mgmt('DELETE', `/vhosts/${encodeURIComponent(vhost)}`).catch(() => undefined);
    await deleteKeys(prefix).catch(() => undefined);
    await psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
    await dir.remove().catch(() => undefined);
    if (!failure) expect(left).toEqual({ containers: [], networks: [], volumes: [] });
    step(t0, 'torn down');
  }
  if (failure) throw failure;
  process.stdout.write(`${JSON.stringify(result)}\n`);
}, 1_800_000);
