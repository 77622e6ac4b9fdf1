import { Writable } from 'node:stream';
import { pino } from 'pino';
import { GlobusError, transferScope, type CallOutcome, type GlobusEndpoint } from '@terra-transfer/globus';
import { CLIENT_SECRET, DST, SRC, item, startSim, waitDone, type Harness } from './harness.js';

/** The Globus client against the simulator over real HTTP: every path of the client. */
describe('GlobusClient against globus-sim', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSim({ GLOBUS_SIM_PAGE_SIZE: '7' });
    for (let i = 0; i < 20; i++) await h.write(`plot/f${String(i).padStart(2, '0')}.bin`, `file ${i}`);
  });
  afterAll(() => h.close());

  /** A client whose calls and retry sleeps are recorded; sleeps are shortened so tests stay fast. */
  function recorded(opts: Parameters<Harness['client']>[0] = {}) {
    const calls: Array<{ endpoint: GlobusEndpoint; outcome: CallOutcome; status: number }> = [];
    const sleeps: number[] = [];
    const client = h.client({
      onCall: (endpoint, outcome, info) => calls.push({ endpoint, outcome, status: info.status }),
      sleep: async (ms) => {
        sleeps.push(ms);
        await new Promise((r) => setTimeout(r, 5));
      },
      ...opts,
    });
    return { client, calls, sleeps };
  }
  const count = (calls: Array<{ endpoint: string; outcome: string }>, endpoint: string, outcome?: string) => calls.filter((c) => c.endpoint === endpoint && (!outcome || c.outcome === outcome)).length;
  const transfer = (label: string, files = [0]) => ({
    source_endpoint: SRC,
    destination_endpoint: DST,
    label,
    verify_checksum: true,
    DATA: files.map((i) => item(`/plot/f${String(i).padStart(2, '0')}.bin`, `/${label}/f${i}.bin`)),
  });

  it('gets a token, a submission id, submits (Accepted), and a re-post of the same submission_id gives Duplicate with the same task', async () => {
    const { client, calls } = recorded();
    const sid = await client.submissionId();
    expect(sid).toMatch(/^[0-9a-f-]{36}$/);
    const first = await client.submitTransfer({ ...transfer('dup'), submission_id: sid });
    expect(first).toMatchObject({ code: 'Accepted', submissionId: sid });
    expect(first.requestId).toMatch(/^[A-Za-z0-9]{9}$/);
    const again = await client.submitTransfer({ ...transfer('dup'), submission_id: sid });
    expect(again).toMatchObject({ code: 'Duplicate', taskId: first.taskId });
    expect(count(calls, 'token')).toBe(1);
    const tasks = await client.taskListAll({ filter: 'label:=dup' });
    expect(tasks.map((t) => t.task_id)).toEqual([first.taskId]);
    expect((await waitDone(client, first.taskId)).status).toBe('SUCCEEDED');
  });

  it('a response dropped after acceptance is retried with the same body: Duplicate, and exactly one task', async () => {
    const { client, calls } = recorded();
    expect((await h.admin({ kind: 'drop-after-accept', count: 1 })).status).toBe(201);
    const r = await client.submitTransfer(transfer('dropped', [1, 2]));
    expect(r.code).toBe('Duplicate');
    expect(count(calls, 'transfer', 'retry')).toBe(1);
    expect(calls.filter((c) => c.endpoint === 'transfer').map((c) => c.status)).toEqual([0, 200]);
    const tasks = await client.taskListAll({ filter: 'label:=dropped', fields: ['task_id', 'status'] });
    expect(tasks).toHaveLength(1);
    expect(tasks[0]!.task_id).toBe(r.taskId);
    expect((await waitDone(client, r.taskId)).files_transferred).toBe(2);
  });

  it('renews a token that expires mid-run (even between pages) without a failed call', async () => {
    const { client, calls } = recorded();
    const r = await client.submitTransfer({ ...transfer('pages', Array.from({ length: 20 }, (_, i) => i)) });
    await waitDone(client, r.taskId);
    const pages: number[] = [];
    for await (const page of client.successfulTransfers(r.taskId)) {
      pages.push(page.length);
      // The service stops accepting every token issued so far.
      if (pages.length === 1) expect((await h.admin({ kind: 'expire-tokens' })).status).toBe(200);
    }
    expect(pages).toEqual([7, 7, 6]);
    expect(count(calls, 'token', 'ok')).toBe(2);
    expect(calls.filter((c) => c.outcome === 'error')).toEqual([]);
    expect(calls.filter((c) => c.status === 401)).toHaveLength(1);
  });

  it('renews 60 s before expiry: with 61 s tokens every call after 1 s asks for a new token first', async () => {
    const short = await startSim({ GLOBUS_SIM_TOKEN_LIFETIME_SEC: '61' });
    try {
      const calls: Array<{ endpoint: string; outcome: string; status: number }> = [];
      const c = short.client({ onCall: (endpoint, outcome, info) => calls.push({ endpoint, outcome, status: info.status }) });
      await c.submissionId();
      await new Promise((r) => setTimeout(r, 1100));
      await c.submissionId();
      expect(calls.map((x) => `${x.endpoint}:${x.status}`)).toEqual(['token:200', 'submission_id:200', 'token:200', 'submission_id:200']);
    } finally {
      await short.close();
    }
  });

  it('successful transfers come back across several marker pages, with size and MD5', async () => {
    const { client } = recorded();
    const r = await client.submitTransfer(transfer('many', Array.from({ length: 20 }, (_, i) => i)));
    await waitDone(client, r.taskId);
    const all = await client.allSuccessfulTransfers(r.taskId);
    expect(all).toHaveLength(20);
    expect(new Set(all.map((s) => s.destination_path)).size).toBe(20);
    expect(all.every((s) => s.checksum_algorithm === 'MD5' && /^[0-9a-f]{32}$/.test(s.checksum ?? '') && s.size > 0)).toBe(true);
  });

  it('a 502 ExternalError is not retried (one attempt, typed error, not retryable)', async () => {
    const { client, calls } = recorded();
    await h.admin({ kind: '502-external', count: 5, endpoints: ['task_list'] });
    const err = await client.taskList().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GlobusError);
    expect(err).toMatchObject({ status: 502, code: 'GLOBUS_ENDPOINT_ERROR', upstreamCode: 'ExternalError.DirListingFailed.GCDisconnected', retryable: false, isEndpointError: true, endpoint: 'task_list' });
    expect((err as GlobusError).requestId).toMatch(/^[A-Za-z0-9]{9}$/);
    expect(count(calls, 'task_list')).toBe(1);
    await fetch(`${h.url}/admin/faults`, { method: 'DELETE', headers: { authorization: 'Bearer admin-token-for-tests' } });
  });

  it('retries 500 with backoff, 429 and 503 after Retry-After, and gives up after 5 retries', async () => {
    const { client, calls, sleeps } = recorded();
    await h.admin({ kind: '500', count: 2, endpoints: ['submission_id'] });
    await client.submissionId();
    expect(calls.filter((c) => c.endpoint === 'submission_id').map((c) => c.status)).toEqual([500, 500, 200]);
    expect(sleeps[0]).toBeGreaterThanOrEqual(250);
    expect(sleeps[0]).toBeLessThanOrEqual(750);
    expect(sleeps[1]).toBeGreaterThanOrEqual(500);
    expect(sleeps[1]).toBeLessThanOrEqual(1500);

    sleeps.length = 0;
    await h.admin({ kind: '429', count: 1, retryAfter: 3, endpoints: ['submission_id'] });
    await h.admin({ kind: '503', count: 1, retryAfter: 2, endpoints: ['submission_id'] });
    await client.submissionId();
    expect(sleeps).toEqual([3000, 2000]);

    sleeps.length = 0;
    calls.length = 0;
    await h.admin({ kind: '500', count: 10, endpoints: ['submission_id'] });
    const err = await client.submissionId().catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 500, code: 'GLOBUS_5XX', upstreamCode: 'InternalError', retryable: true });
    expect(calls.map((c) => c.outcome)).toEqual(['retry', 'retry', 'retry', 'retry', 'retry', 'error']);
    expect(sleeps).toHaveLength(5);
    expect(Math.max(...sleeps)).toBeLessThanOrEqual(10_000);
    await fetch(`${h.url}/admin/faults`, { method: 'DELETE', headers: { authorization: 'Bearer admin-token-for-tests' } });
  });

  it('polls many tasks in one task_list call with fields, and filters by status and label', async () => {
    const { client, calls } = recorded();
    const ids: string[] = [];
    for (const l of ['poll-a', 'poll-b', 'poll-c']) ids.push((await client.submitTransfer(transfer(l, [3]))).taskId);
    for (const id of ids) await waitDone(client, id);
    calls.length = 0;
    const rows = await client.tasksById([...ids, '00000000-0000-4000-8000-000000000000'], ['status', 'files_transferred']);
    expect(count(calls, 'task_list')).toBe(1);
    expect(rows.map((r) => r.task_id).sort()).toEqual([...ids].sort());
    for (const r of rows) expect(Object.keys(r).sort()).toEqual(['DATA_TYPE', 'files_transferred', 'status', 'task_id']);
    expect((await client.taskList({ filter: 'label:~poll-/status:SUCCEEDED', limit: 2 })).total).toBe(3);
    expect((await client.taskListAll({ filter: 'label:~poll-', limit: 2 })).length).toBe(3);
    expect((await client.taskList({ filter: 'status:FAILED/label:~poll-' })).total).toBe(0);
  });

  it('cancels a running task (FAILED, CANCELED event), then reports TaskComplete', async () => {
    const { client } = recorded();
    await h.admin({ kind: 'slow', count: 1, delayMs: 2000 });
    const r = await client.submitTransfer(transfer('cancel-me', [4, 5]));
    await expect(client.allSuccessfulTransfers(r.taskId)).rejects.toMatchObject({ status: 400, code: 'GLOBUS_REJECTED', upstreamCode: 'ClientError.BadRequest' });
    expect((await client.cancelTask(r.taskId)).code).toBe('Canceled');
    const t = await client.getTask(r.taskId);
    expect(t).toMatchObject({ status: 'FAILED', fatal_error: { code: 'CANCELED', description: 'canceled' } });
    expect(t.completion_time).not.toBeNull();
    const events = await client.eventList(r.taskId, { errorsOnly: true });
    expect(events.DATA.map((e) => e.code)).toEqual(['CANCELED']);
    expect((await client.cancelTask(r.taskId)).code).toBe('TaskComplete');
  });

  it('an unknown task is a 404 ClientError.NotFound', async () => {
    const { client } = recorded();
    const err = await client.getTask('00000000-0000-4000-8000-00000000dead').catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404, code: 'GLOBUS_REJECTED', upstreamCode: 'ClientError.NotFound', isNotFound: true, retryable: false });
  });

  it('lists skipped errors with marker paging', async () => {
    const { client } = recorded();
    const r = await client.submitTransfer({ ...transfer('skips', [6]), skip_source_errors: true, DATA: [item('/plot/f06.bin', '/skips/ok.bin'), item('/plot/missing-1', '/skips/m1'), item('/plot/missing-2', '/skips/m2')] });
    const t = await waitDone(client, r.taskId);
    expect(t).toMatchObject({ status: 'SUCCEEDED', subtasks_skipped_errors: 2, files_transferred: 1 });
    const skipped = await client.allSkippedErrors(r.taskId);
    expect(skipped.map((s) => [s.source_path, s.error_code])).toEqual([['/plot/missing-1', 'FILE_NOT_FOUND'], ['/plot/missing-2', 'FILE_NOT_FOUND']]);
  });

  it('limits its own request rate', async () => {
    const { client } = recorded({ rateLimitPerSec: 10 });
    const started = Date.now();
    for (let i = 0; i < 16; i++) await client.submissionId();
    // 10 in the first burst, 6 more at 10/s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  });

  it('asks for the data_access scope a mapped collection needs; without it POST /transfer is 403 ConsentRequired', async () => {
    const m = await startSimWithMapped();
    try {
      await m.write('x', 'x');
      const plain = m.client();
      const err = await plain.submitTransfer({ source_endpoint: SRC, destination_endpoint: DST, DATA: [item('/x', '/x')] }).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 403, code: 'GLOBUS_REJECTED', upstreamCode: 'ConsentRequired', retryable: false });
      expect((err as GlobusError).body?.['required_scopes']).toEqual([transferScope([DST])]);
      const consented = m.client({ scopes: [transferScope([DST])] });
      expect((await consented.submitTransfer({ source_endpoint: SRC, destination_endpoint: DST, DATA: [item('/x', '/x')] })).code).toBe('Accepted');
    } finally {
      await m.close();
    }
  });

  it('a bad client secret is a typed auth error that does not echo the secret; no secret or token reaches the logs', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } }));
    const bad = h.client({ clientSecret: 'wrong-secret-value', logger });
    const err = await bad.submissionId().catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 401, code: 'GLOBUS_AUTH_REJECTED', upstreamCode: 'AUTH.invalid_client', retryable: false });
    expect(String((err as Error).message)).not.toContain('wrong-secret-value');
    expect(JSON.stringify(err)).not.toContain('wrong-secret-value');

    const good = h.client({ logger });
    await h.admin({ kind: '500', count: 1, endpoints: ['submission_id'] });
    await h.admin({ kind: 'expire-tokens' });
    await good.submissionId();
    const log = lines.join('');
    expect(log).toContain('globus call failed; retrying');
    expect(log).not.toContain(CLIENT_SECRET);
    for (const token of h.sim.store.tokens.keys()) expect(log).not.toContain(token);
  });
});

async function startSimWithMapped() {
  const { tempDir } = await import('@terra-transfer/testkit');
  const d = await tempDir('mapped');
  const h = await startSim({
    GLOBUS_SIM_ENDPOINTS: JSON.stringify({ [SRC]: { root: `${d.path}/s` }, [DST]: { root: `${d.path}/d`, requires_data_access: true } }),
  });
  return { ...h, write: async (rel: string, c: string) => {
    const { writeFile, mkdir } = await import('node:fs/promises');
    await mkdir(`${d.path}/s`, { recursive: true });
    await writeFile(`${d.path}/s/${rel}`, c);
    return `${d.path}/s/${rel}`;
  }, close: async () => { await h.close(); await d.remove(); } };
}
