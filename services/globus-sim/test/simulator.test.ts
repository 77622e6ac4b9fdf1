import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@terra-transfer/testkit';
import type { GlobusClient, Task } from '@terra-transfer/globus';
import { ADMIN_TOKEN, DST, SRC, item, startSim, waitDone, type Harness } from './harness.js';

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');

describe('globus-sim executor and API', () => {
  let h: Harness;
  let c: GlobusClient;
  beforeAll(async () => {
    h = await startSim({ GLOBUS_SIM_MAX_PENDING_PER_OWNER: '12' });
    c = h.client();
  });
  afterAll(() => h.close());

  /** Raw HTTP, to check status codes, content types and bodies exactly as a Globus client sees them. */
  async function raw(method: string, path: string, body?: unknown) {
    const tok = await fetch(`${h.url}/v2/oauth2/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`cccccccc-0000-4000-8000-000000000003:sim-secret-that-must-never-be-logged`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=urn:globus:auth:scope:transfer.api.globus.org:all',
    }).then((r) => r.json() as Promise<{ access_token: string }>);
    const res = await fetch(`${h.url}/v0.10${path}`, {
      method,
      headers: { authorization: `Bearer ${tok.access_token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as Record<string, unknown> };
  }
  const doc = (over: Record<string, unknown> = {}) => ({ DATA_TYPE: 'transfer', submission_id: crypto.randomUUID(), source_endpoint: SRC, destination_endpoint: DST, DATA: [item('/a', '/a')], ...over });

  it('files really arrive, with checksums matching the source (file and recursive items)', async () => {
    const contents = new Map<string, Buffer>();
    for (const rel of ['run1/a.bin', 'run1/sub/b.bin', 'run1/sub/deeper/c.bin', 'single.bin']) {
      const b = randomBytes(50_000 + Math.floor(Math.random() * 50_000));
      contents.set(rel, b);
      await h.write(rel, b);
    }
    const r = await c.submitTransfer({
      source_endpoint: SRC, destination_endpoint: DST, verify_checksum: true, preserve_timestamp: true,
      DATA: [item('/run1/', '/in/run1/', true), item('/single.bin', '/in/one/single.bin')],
    });
    const t = await waitDone(c, r.taskId);
    expect(t).toMatchObject({ status: 'SUCCEEDED', files: 4, files_transferred: 4, directories: 3, subtasks_succeeded: 4, subtasks_pending: 0, faults: 0, is_ok: null, nice_status: null });
    const total = [...contents.values()].reduce((n, b) => n + b.length, 0);
    expect(t.bytes_transferred).toBe(total);
    expect(t.bytes_checksummed).toBe(total);
    const st = await c.allSuccessfulTransfers(r.taskId);
    expect(st).toHaveLength(4);
    for (const [rel, b] of contents) {
      const dest = rel === 'single.bin' ? '/in/one/single.bin' : `/in/${rel}`;
      const onDisk = await readFile(join(h.dstRoot, dest));
      expect(md5(onDisk)).toBe(md5(b));
      const rec = st.find((s) => s.destination_path === dest)!;
      expect(rec).toMatchObject({ size: b.length, checksum: md5(b), checksum_algorithm: 'MD5' });
      expect(Math.abs((await stat(join(h.dstRoot, dest))).mtimeMs - (await stat(join(h.srcRoot, rel))).mtimeMs)).toBeLessThan(0.01);
    }
    const codes = (await c.eventList(r.taskId)).DATA.map((e) => e.code);
    expect(codes).toEqual(['SUCCEEDED', 'PROGRESS', 'STARTED']);
  });

  it('runs at most 3 tasks per owner at a time and queues the rest as "Queued"', async () => {
    for (let i = 0; i < 5; i++) await h.write(`q/${i}`, `q${i}`);
    await h.admin({ kind: 'slow', count: 5, delayMs: 400 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await c.submitTransfer({ source_endpoint: SRC, destination_endpoint: DST, label: `q${i}`, DATA: [item(`/q/${i}`, `/q/${i}`)] })).taskId);
    let maxRunning = 0;
    let sawQueued = 0;
    for (;;) {
      const rows = await c.tasksById(ids, ['status', 'nice_status']);
      const active = rows.filter((r) => r.status === 'ACTIVE');
      const running = active.filter((r) => r.nice_status !== 'Queued').length;
      maxRunning = Math.max(maxRunning, running);
      sawQueued = Math.max(sawQueued, active.length - running);
      if (active.length === 0) break;
      await new Promise((r) => setTimeout(r, 40));
    }
    expect(maxRunning).toBe(3);
    expect(sawQueued).toBe(2);
    const docs = await Promise.all(ids.map((id) => c.getTask(id)));
    expect(docs.every((d) => d.status === 'SUCCEEDED')).toBe(true);
  });

  it('a missing source keeps the task ACTIVE with faults (FILE_NOT_FOUND) until its deadline, then FAILED with EXPIRED', async () => {
    const r = await c.submitTransfer({ source_endpoint: SRC, destination_endpoint: DST, deadline: iso(Date.now() + 2500), DATA: [item('/nowhere/x.bin', '/nf/x.bin')] });
    const during = await waitFor(async () => {
      const t = await c.getTask(r.taskId);
      return t.faults > 0 ? t : undefined;
    });
    expect(during).toMatchObject({ status: 'ACTIVE', nice_status: 'FILE_NOT_FOUND', is_ok: false, subtasks_pending: 1 });
    // Resubmitting the same paths while it is active is refused.
    const conflict = await c.submitTransfer({ source_endpoint: SRC, destination_endpoint: DST, DATA: [item('/nowhere/x.bin', '/nf/x.bin')] }).catch((e: unknown) => e);
    expect(conflict).toMatchObject({ status: 409, code: 'GLOBUS_CONFLICT', upstreamCode: 'Conflict', retryable: true });
    const t = await waitDone(c, r.taskId, 10_000);
    expect(t).toMatchObject({ status: 'FAILED', fatal_error: { code: 'EXPIRED' }, subtasks_expired: 1, subtasks_pending: 0 });
    expect(t.faults).toBeGreaterThanOrEqual(2); // retried, not failed at once
    const errs = await c.eventList(r.taskId, { errorsOnly: true, limit: 100 });
    expect(errs.DATA[0]!.code).toBe('EXPIRED');
    expect(errs.DATA.slice(1).every((e) => e.code === 'FILE_NOT_FOUND')).toBe(true);
    expect(errs.DATA.length).toBeGreaterThanOrEqual(3);
  });

  it('a source file that appears before the deadline is picked up on retry', async () => {
    const r = await c.submitTransfer({ source_endpoint: SRC, destination_endpoint: DST, DATA: [item('/late/x.bin', '/late/x.bin')] });
    await waitFor(async () => ((await c.getTask(r.taskId)).nice_status === 'FILE_NOT_FOUND' ? true : undefined));
    await h.write('late/x.bin', 'finally');
    const t = await waitDone(c, r.taskId);
    expect(t).toMatchObject({ status: 'SUCCEEDED', files_transferred: 1 });
    expect(t.faults).toBeGreaterThanOrEqual(1);
  });

  it('honours sync_level: exists, size, mtime, checksum', async () => {
    await h.write('sync/a', 'aaaa');
    await h.write('sync/b', 'bbbb');
    const run = async (sync_level: 0 | 1 | 2 | 3) => waitDone(c, (await c.submitTransfer({ source_endpoint: SRC, destination_endpoint: DST, sync_level, DATA: [item('/sync/', '/sync/', true)] })).taskId);
    expect(await run(3)).toMatchObject({ files_transferred: 2, files_skipped: 0 });
    expect(await run(3)).toMatchObject({ files_transferred: 0, files_skipped: 2 });
    await h.write('sync/a', 'AAAA'); // same size, new content
    expect(await run(1)).toMatchObject({ files_transferred: 0, files_skipped: 2 });
    expect(await run(3)).toMatchObject({ files_transferred: 1, files_skipped: 1 });
    expect(await readFile(join(h.dstRoot, 'sync/a'), 'utf8')).toBe('AAAA');
    const old = new Date(Date.now() - 3600_000);
    await utimes(join(h.dstRoot, 'sync/b'), old, old); // destination older than source
    expect(await run(2)).toMatchObject({ files_transferred: 1, files_skipped: 1 });
    expect(await run(0)).toMatchObject({ files_transferred: 0, files_skipped: 2 });
  });

  it('applies filter_rules to recursive items (first match wins, files and directories)', async () => {
    for (const rel of ['fr/keep.bin', 'fr/skip.tmp', 'fr/scratch/x.bin', 'fr/sub/y.bin', 'fr/sub/z.TMP']) await h.write(rel, rel);
    const r = await c.submitTransfer({
      source_endpoint: SRC, destination_endpoint: DST,
      filter_rules: [
        { DATA_TYPE: 'filter_rule', method: 'exclude', name: '*.tmp', type: 'file' },
        { DATA_TYPE: 'filter_rule', method: 'exclude', name: 'scratch', type: 'dir' },
        { DATA_TYPE: 'filter_rule', method: 'exclude', name: '*.[Tt][Mm][Pp]' },
      ],
      DATA: [item('/fr/', '/fr/', true)],
    });
    const t = await waitDone(c, r.taskId);
    expect(t).toMatchObject({ status: 'SUCCEEDED', files: 2, files_transferred: 2 });
    expect((await c.allSuccessfulTransfers(r.taskId)).map((s) => s.destination_path).sort()).toEqual(['/fr/keep.bin', '/fr/sub/y.bin']);
    const bad = await raw('POST', '/transfer', doc({ filter_rules: [{ DATA_TYPE: 'filter_rule', method: 'exclude', name: '*.tmp' }] }));
    expect(bad).toMatchObject({ status: 400, body: { code: 'ClientError.BadRequest' } });
  });

  it('answers malformed TransferData with the Globus status and code, as application/json with a request id', async () => {
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [doc({ DATA: [] }), 400, 'ClientError.BadRequest.NoTransferItems'],
      [doc({ DATA: undefined }), 400, 'ClientError.BadRequest.NoTransferItems'],
      [doc({ DATA: [item('relative/a', '/a')] }), 400, 'ClientError.BadRequest'],
      [doc({ DATA: [item('/a', 'b')] }), 400, 'ClientError.BadRequest'],
      [doc({ source_endpoint: '99999999-0000-4000-8000-000000000000' }), 404, 'EndpointNotFound'],
      [doc({ destination_endpoint: '99999999-0000-4000-8000-000000000000' }), 404, 'EndpointNotFound'],
      [doc({ sync_level: 7 }), 400, 'ClientError.BadRequest'],
      [doc({ sync_level: 'fast' }), 400, 'ClientError.BadRequest'],
      [doc({ label: 'two\nlines' }), 400, 'ClientError.BadRequest'],
      [doc({ label: 'x'.repeat(129) }), 400, 'ClientError.BadRequest'],
      [doc({ DATA: [item('/../etc/passwd', '/x')] }), 400, 'ClientError.BadRequest'],
      [doc({ DATA: [item('/a', '/in/../../out')] }), 400, 'ClientError.BadRequest'],
      [doc({ DATA: [{ source_path: '/a', destination_path: '/a' }] }), 400, 'ClientError.BadRequest'],
      [doc({ DATA_TYPE: 'delete' }), 400, 'ClientError.BadRequest'],
      [doc({ submission_id: undefined }), 400, 'ClientError.BadRequest'],
      [doc({ deadline: 'tomorrow' }), 400, 'ClientError.BadRequest'],
    ];
    for (const [body, status, code] of cases) {
      const r = await raw('POST', '/transfer', body);
      expect({ status: r.status, code: r.body['code'], json: r.type.startsWith('application/json') }).toEqual({ status, code, json: true });
      expect(r.body['request_id']).toMatch(/^[A-Za-z0-9]{9}$/);
      expect(typeof r.body['message']).toBe('string');
    }
    const nf = await raw('GET', '/task/nope');
    expect(nf).toMatchObject({ status: 404, body: { code: 'ClientError.NotFound', message: "No task found with id 'nope'" } });
    const noAuth = await fetch(`${h.url}/v0.10/task_list`);
    expect(noAuth.status).toBe(401);
    expect(noAuth.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await noAuth.json()).toMatchObject({ code: 'ClientError.AuthenticationFailed' });
    expect((await raw('GET', '/task_list?filter=color:red')).status).toBe(400);
    expect((await raw('GET', '/task_list?limit=1000&offset=1')).status).toBe(400);
  });

  it('refuses paths that leave the endpoint root through symlinks, on either side', async () => {
    const outside = await tempDir('outside');
    try {
      await writeFile(join(outside.path, 'secret.txt'), 'do not copy');
      await mkdir(join(h.srcRoot, 'esc'), { recursive: true });
      await symlink(join(outside.path, 'secret.txt'), join(h.srcRoot, 'esc/link.txt'));
      await symlink(outside.path, join(h.srcRoot, 'esc/linkdir'));
      await h.write('esc/ok.txt', 'fine');
      // Source: a file symlink out of the root is refused (skipped here); a recursive walk ignores symlinks.
      const r1 = await c.submitTransfer({ source_endpoint: SRC, destination_endpoint: DST, skip_source_errors: true, DATA: [item('/esc/link.txt', '/esc/link.txt'), item('/esc/linkdir/secret.txt', '/esc/s2.txt'), item('/esc/', '/escdir/', true)] });
      const t1 = await waitDone(c, r1.taskId);
      expect(t1).toMatchObject({ status: 'SUCCEEDED', files_transferred: 1, subtasks_skipped_errors: 2 });
      expect((await c.allSkippedErrors(r1.taskId)).map((s) => s.error_code)).toEqual(['PERMISSION_DENIED', 'PERMISSION_DENIED']);
      await expect(stat(join(h.dstRoot, 'esc/link.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
      expect((await c.allSuccessfulTransfers(r1.taskId)).map((s) => s.destination_path)).toEqual(['/escdir/ok.txt']);
      // Destination: a symlinked directory leading out of the root.
      await symlink(outside.path, join(h.dstRoot, 'out'));
      const r2 = await c.submitTransfer({ source_endpoint: SRC, destination_endpoint: DST, skip_source_errors: true, DATA: [item('/esc/ok.txt', '/out/planted.txt')] });
      const t2 = await waitDone(c, r2.taskId);
      expect(t2.subtasks_skipped_errors).toBe(1);
      await expect(stat(join(outside.path, 'planted.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await outside.remove();
    }
  });

  it('caps unfinished tasks per owner with 409 Conflict', async () => {
    await h.admin({ kind: 'slow', count: 12, delayMs: 5000 });
    await h.write('cap/x', 'x');
    const ids: string[] = [];
    let refused: unknown;
    for (let i = 0; i < 13 && !refused; i++) {
      try {
        ids.push((await c.submitTransfer({ source_endpoint: SRC, destination_endpoint: DST, DATA: [item('/cap/x', `/cap/${i}`)] })).taskId);
      } catch (e) {
        refused = e;
      }
    }
    expect(refused).toMatchObject({ status: 409, code: 'GLOBUS_CONFLICT', upstreamCode: 'Conflict' });
    expect(ids.length).toBe(12);
    for (const id of ids) await c.cancelTask(id);
    await fetch(`${h.url}/admin/faults`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  });

  it('Auth errors: bad secret 401 invalid_client, unknown scope 400 invalid_scope; admin needs its token', async () => {
    const bad = await fetch(`${h.url}/v2/oauth2/token`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('cccccccc-0000-4000-8000-000000000003:nope').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ error: 'invalid_client' });
    const scope = await fetch(`${h.url}/v2/oauth2/token`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('cccccccc-0000-4000-8000-000000000003:sim-secret-that-must-never-be-logged').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&scope=openid' });
    expect(scope.status).toBe(400);
    expect(await scope.json()).toMatchObject({ error: 'invalid_scope' });
    expect((await fetch(`${h.url}/admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"kind":"500"}' })).status).toBe(401);
    expect((await h.admin({ kind: 'bogus' })).status).toBe(400);
  });
});

describe('globus-sim limits', () => {
  it('copies at the configured bandwidth', async () => {
    const h = await startSim({ GLOBUS_SIM_BANDWIDTH_BYTES_PER_SEC: String(1_000_000) });
    try {
      await h.write('big.bin', randomBytes(800_000));
      const c = h.client();
      const started = Date.now();
      const t: Task = await waitDone(c, (await c.submitTransfer({ source_endpoint: SRC, destination_endpoint: DST, DATA: [item('/big.bin', '/big.bin')] })).taskId);
      const elapsed = Date.now() - started;
      expect(t.bytes_transferred).toBe(800_000);
      expect(elapsed).toBeGreaterThanOrEqual(650);
    } finally {
      await h.close();
    }
  });

  it('rate-limits each owner over 10 s windows with 429 and Retry-After', async () => {
    const h = await startSim({ GLOBUS_SIM_RATE_LIMIT_PER_SEC: '1' });
    try {
      const calls: number[] = [];
      const c = h.client({ retryPolicy: { maxRetries: 0 }, onCall: (_e, _o, i) => calls.push(i.status) });
      for (let i = 0; i < 10; i++) await c.submissionId();
      const err = await c.submissionId().catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 429, retryable: true });
      const res = await fetch(`${h.url}/v0.10/submission_id`, { headers: { authorization: `Bearer ${[...h.sim.store.tokens.keys()][0]}` } });
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(10);
    } finally {
      await h.close();
    }
  });
});

async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
