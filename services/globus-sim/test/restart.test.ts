import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GlobusClient } from '@terra-transfer/globus';
import { freePort, tempDir, waitFor } from '@terra-transfer/testkit';
import { CLIENT_ID, CLIENT_SECRET, DST, IDENTITY, SRC, item, waitDone } from './harness.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

/** The compiled simulator as a real process: its state (tasks, submission ids, tokens) survives a crash. */
it('resumes an ACTIVE task after being killed, keeps submission ids (Duplicate) and tokens, and exits 0 on SIGTERM', async () => {
  const dir = await tempDir('globus-sim-restart');
  const port = await freePort();
  const env = {
    ...process.env,
    LOG_LEVEL: 'warn',
    HTTP_PORT: String(port),
    GLOBUS_SIM_ENDPOINTS: JSON.stringify({ [SRC]: { root: join(dir.path, 'src') }, [DST]: { root: join(dir.path, 'dst') } }),
    GLOBUS_SIM_CLIENTS: JSON.stringify({ [CLIENT_ID]: { secret: CLIENT_SECRET, identity: IDENTITY } }),
    GLOBUS_SIM_STATE_DIR: join(dir.path, 'state'),
    GLOBUS_SIM_COPY_CONCURRENCY: '1',
    GLOBUS_SIM_TICK_MS: '100',
    // The first task copies one file every 150 ms, so the kill lands mid-task.
    GLOBUS_SIM_FAULTS: JSON.stringify([{ kind: 'slow', count: 1, delayMs: 150 }]),
  };
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    await waitFor('globus-sim up', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 15_000, 100);
  };
  const stop = async (signal: NodeJS.Signals) => {
    const p = proc!;
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    p.kill(signal);
    return exited;
  };
  try {
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(join(dir.path, 'src/day'), { recursive: true });
    const contents: string[] = [];
    for (let i = 0; i < 12; i++) {
      contents.push(`sensor file ${i} `.repeat(100 + i));
      await writeFile(join(dir.path, `src/day/${i}.json`), contents[i]!);
    }
    await start();
    const statuses: number[] = [];
    const c = new GlobusClient({ authUrl: `http://127.0.0.1:${port}`, transferUrl: `http://127.0.0.1:${port}/v0.10`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, onCall: (_e, _o, info) => statuses.push(info.status) });
    const sid = await c.submissionId();
    const doc = { submission_id: sid, source_endpoint: SRC, destination_endpoint: DST, verify_checksum: true, DATA: contents.map((_, i) => item(`/day/${i}.json`, `/in/day/${i}.json`)) };
    const first = await c.submitTransfer(doc);
    expect(first.code).toBe('Accepted');
    await waitFor('some files copied', async () => (await c.getTask(first.taskId)).files_transferred >= 3, 10_000, 30);

    expect(await stop('SIGKILL')).toBeNull();
    await start();

    statuses.length = 0;
    const resumed = await c.getTask(first.taskId);
    expect(resumed.status).toBe('ACTIVE');
    expect(resumed.files_transferred).toBeLessThan(12);
    const again = await c.submitTransfer(doc);
    expect(again).toMatchObject({ code: 'Duplicate', taskId: first.taskId });
    const t = await waitDone(c, first.taskId, 20_000);
    expect(t).toMatchObject({ status: 'SUCCEEDED', files_transferred: 12, subtasks_succeeded: 12, subtasks_pending: 0 });
    const st = await c.allSuccessfulTransfers(first.taskId);
    expect(st.map((s) => s.destination_path).sort()).toEqual(contents.map((_, i) => `/in/day/${i}.json`).sort());
    for (let i = 0; i < contents.length; i++) {
      expect(md5(await readFile(join(dir.path, `dst/in/day/${i}.json`)))).toBe(md5(contents[i]!));
    }
    // The token issued before the crash is still accepted: no 401, no renewal.
    expect(statuses.filter((s) => s === 401)).toEqual([]);
    const codes = (await c.eventList(first.taskId, { limit: 100 })).DATA.map((e) => e.code);
    expect(codes.filter((x) => x === 'STARTED')).toHaveLength(1);

    expect(await stop('SIGTERM')).toBe(0);
    proc = undefined;
  } finally {
    if (proc && proc.exitCode === null) await stop('SIGKILL');
    await dir.remove();
  }
});
