import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DST, SRC, item, startSim, waitDone, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const transfer = (label: string, files: string[], extra: Record<string, unknown> = {}) => ({
  source_endpoint: SRC, destination_endpoint: DST, label, verify_checksum: true, ...extra,
  DATA: files.map((f) => item(`/${f}`, `/${label}/${f}`)),
});

describe('INACTIVE tasks (credential expiry) and their recovery', () => {
  it('a task goes INACTIVE, says why, then resumes and succeeds', async () => {
    h = await startSim();
    const s = h;
    await s.write('a.bin', 'aaa');
    expect((await s.admin({ kind: 'inactive', delayMs: 1500 })).status).toBe(201);
    const c = s.client();
    const { taskId } = await c.submitTransfer(transfer('inactive', ['a.bin']));
    const seen: string[] = [];
    for (let t = await c.getTask(taskId); t.status === 'ACTIVE' || t.status === 'INACTIVE'; t = await c.getTask(taskId)) {
      if (!seen.includes(t.status)) seen.push(t.status);
      if (t.status === 'INACTIVE') expect(t).toMatchObject({ is_ok: false, nice_status: 'CREDENTIAL_EXPIRED', completion_time: null });
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen).toContain('INACTIVE');
    const done = await c.getTask(taskId);
    expect(done).toMatchObject({ status: 'SUCCEEDED', files_transferred: 1 });
    expect(await readFile(join(s.dstRoot, 'inactive/a.bin'), 'utf8')).toBe('aaa');
    const codes = (await c.eventList(taskId, { limit: 100 })).DATA.map((e) => e.code);
    expect(codes).toEqual(expect.arrayContaining(['CREDENTIAL_EXPIRED', 'CREDENTIAL_RENEWED', 'SUCCEEDED']));
    // A task poll of many (the watcher's task_list) shows the state too.
    expect((await c.taskList({ filter: 'status:INACTIVE' })).total).toBe(0);
  }, 30_000);

  it('an INACTIVE task that reaches its deadline fails EXPIRED', async () => {
    h = await startSim();
    const s = h;
    await s.write('b.bin', 'b');
    await s.admin({ kind: 'inactive', delayMs: 60_000 });
    const c = s.client();
    const deadline = new Date(Date.now() + 1500).toISOString().replace(/\.\d{3}Z$/, '+00:00');
    const { taskId } = await c.submitTransfer(transfer('expires', ['b.bin'], { deadline }));
    await new Promise((r) => setTimeout(r, 300));
    expect((await c.taskList({ filter: 'status:INACTIVE', fields: ['task_id'] })).DATA.map((t) => t.task_id)).toEqual([taskId]);
    // INACTIVE is not terminal (the deadline still runs): wait for FAILED.
    for (let i = 0; i < 100 && (await c.getTask(taskId)).status === 'INACTIVE'; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await c.getTask(taskId)).toMatchObject({ status: 'FAILED', fatal_error: { code: 'EXPIRED' }, files_transferred: 0 });
  }, 30_000);
});

describe('journal compaction during a long run', () => {
  it('the journal is rewritten while tasks run, stays bounded, and a restart restores every task exactly', async () => {
    h = await startSim({ GLOBUS_SIM_COMPACT_EVERY: '40' });
    const s = h;
    const files = Array.from({ length: 15 }, (_, i) => `f${i}.bin`);
    for (const f of files) await s.write(f, `content of ${f}`);
    const c = s.client();
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await c.submitTransfer(transfer(`run${i}`, files))).taskId);
    for (const id of ids) expect((await waitDone(c, id, 30_000)).status).toBe('SUCCEEDED');
    expect(s.sim.store.liveCompactions).toBeGreaterThanOrEqual(1);

    const before = new Map<string, { st: number; events: number; doc: unknown }>();
    for (const id of ids) before.set(id, { st: (await c.allSuccessfulTransfers(id)).length, events: (await c.eventList(id, { limit: 1000 })).total, doc: await c.getTask(id) });
    // Let the last group commit reach the disk, then read the journal as a restart would.
    await new Promise((r) => setTimeout(r, 500));
    const lines = (await readFile(join(s.stateDir, 'journal.jsonl'), 'utf8')).split('\n').filter(Boolean).length;
    const appended = s.sim.store.appendedRecords;

    await s.restart();
    const c2 = s.client();
    for (const id of ids) {
      const b = before.get(id)!;
      // No record replayed twice (a compaction that kept records it had already folded in would double them).
      expect((await c2.allSuccessfulTransfers(id)).length).toBe(15);
      expect(b.st).toBe(15);
      expect((await c2.eventList(id, { limit: 1000 })).total).toBe(b.events);
      expect(await c2.getTask(id)).toEqual(b.doc);
    }
    // Without live compaction the journal holds every record appended since start; with it, far fewer.
    expect(lines).toBeLessThan(appended * 0.75);
    // Submission ids survive: a re-post is a Duplicate.
    expect(s.sim.store.tasks.size).toBe(8);
  }, 90_000);
});
