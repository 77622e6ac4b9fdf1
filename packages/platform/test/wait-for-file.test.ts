import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, tempDir } from '@terra-transfer/testkit';
import { waitForFile } from '../src/wait-for-file.js';

it('returns at once when the file exists', async () => {
  const dir = await tempDir('wait-file');
  try {
    await writeFile(join(dir.path, 'sites.yaml'), 'x');
    const told: string[] = [];
    await waitForFile(join(dir.path, 'sites.yaml'), { key: 'SITES_FILE', host: '127.0.0.1', port: await freePort(), onWait: (m) => told.push(m) });
    expect(told).toEqual([]);
  } finally {
    await dir.remove();
  }
});

it('waits for a missing file with the probes answering (alive, not ready), then frees the port', async () => {
  const dir = await tempDir('wait-file');
  try {
    const path = join(dir.path, 'sites.yaml');
    const port = await freePort();
    const told: string[] = [];
    let done = false;
    const waiting = waitForFile(path, { key: 'SITES_FILE', host: '127.0.0.1', port, pollMs: 50, onWait: (m) => told.push(m) }).then(() => (done = true));
    const base = `http://127.0.0.1:${port}`;
    // The port answers once the wait has started.
    let health: Response | undefined;
    for (let i = 0; i < 100 && !health; i++) health = await fetch(`${base}/healthz`).catch(async () => (await new Promise((r) => setTimeout(r, 20)), undefined));
    expect(health!.status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ ready: false, waiting: 'SITES_FILE' });
    expect(told).toEqual([`SITES_FILE ${path} does not exist yet: waiting for it (not ready until it appears)`]);
    await new Promise((r) => setTimeout(r, 200));
    expect(done).toBe(false);
    await writeFile(path, 'sites: []');
    await waiting;
    // The service's own server can take the port now.
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  } finally {
    await dir.remove();
  }
});
