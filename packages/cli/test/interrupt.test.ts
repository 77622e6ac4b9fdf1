/**
 * Ctrl-C stops a long operation cleanly: `terra replay` reading a log that
 * is still being written (a FIFO: the read waits for lines) stops at the
 * first SIGINT, says what it did (nothing sent), and exits 130.
 */
import { spawn, execFileSync } from 'node:child_process';
import { open, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { stringifySites, testSite } from '@terra-transfer/sites';
import { tempDir, waitFor } from '@terra-transfer/testkit';
import { CLI } from './run.js';

it('the first Ctrl-C stops replay after the current step: exit 130, nothing sent, no stack trace', async () => {
  const dir = await tempDir('cli-sigint');
  try {
    const logDir = join(dir.path, 'log');
    await mkdir(logDir);
    const fifo = join(logDir, 'xferlog');
    execFileSync('mkfifo', [fifo]);
    const sitesFile = join(dir.path, 'sites.yaml');
    await writeFile(sitesFile, stringifySites([testSite({ name: 'ua-mac', cacheRoot: join(dir.path, 'cache'), xferlog: fifo, ftpRoot: '/gantry_data' })]));
    // No cleaner listens here: reaching the ledger lookup would fail with exit 3, not 130.
    const p = spawn(process.execPath, [CLI, 'replay', '--site', 'ua-mac', '--from', '2026-11-24', '--to', '2026-11-24'], {
      env: { PATH: process.env['PATH'], SITES_FILE: sitesFile, SERVICE_URLS: 'cleaner@ua-mac=http://127.0.0.1:9' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((r) => p.on('close', (code) => r(code)));
    // Opening the FIFO for writing returns once the CLI opened it for reading: it is in the read loop.
    const w = await open(fifo, 'w');
    await w.write('Tue Nov 24 10:00:00 2026 1 192.168.10.21 100 /gantry_data/MovingSensor/stereoTop/2026-11-24/a.bin b _ i r gantry ftp 0 * c\n');
    p.kill('SIGINT');
    await waitFor('the CLI acknowledges the interrupt', () => stderr.includes('stopping after the current step'), 20_000, 50);
    await w.close(); // a read already waiting on the FIFO returns (EOF), so the process can exit
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/terra: interrupted while reading the logs: nothing was sent/);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stdout).toBe('');
  } finally {
    await dir.remove();
  }
}, 60_000);
