/**
 * Adding a site to the demo needs no code change: the demo's site file with
 * a fourth site (a second drone site: another name, folder, endpoints and
 * Clowder space) is run by the demo as it is (`--sites`), which starts that
 * site's cleaner and directory-source from the file and writes its flights;
 * the JSON verdict lists all five sites (the demo's four, Danforth's test
 * Scanalyzer among them, and the added one), each `ok` with nothing lost.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { demoSites, directorySite, transferLogDatabaseUrl, dropTransferLogDatabase, writeSitesFile } from '@terra-transfer/stack';
import { deleteKeys, deleteTopology, tempDir, uniquePrefix } from '@terra-transfer/testkit';

it('a fourth site added to the demo\'s site file runs and arrives with no code change', async () => {
  const dir = await tempDir('demo-4');
  const prefix = uniquePrefix('demo4');
  const work = join(dir.path, 'work');
  const sitesFile = writeSitesFile(join(dir.path, 'conf'), [...demoSites(work), directorySite(work, { name: 'ksu-drone-2', index: 3, whitelist: ['drone'] })]);
  try {
    const child = spawn(process.execPath, ['packages/stack/dist/demo.js', '--sites', sitesFile, '--work-dir', work, '--prefix', prefix, '--free-ports',
      '--datasets', '5', '--folders', '3', '--snapshots', '4', '--exit', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    // stdout is the verdict's alone: one JSON line.
    const lines = stdout.trim().split("\n");
    if (code !== 0) process.stderr.write(`${stdout}\n${stderr.slice(-3000)}\n`);
    expect({ code, lines: lines.length }).toEqual({ code: 0, lines: 1 });
    const verdict = JSON.parse(lines[0]!) as { sites: Record<string, { completed: number; at_destination: number; deleted: number; ingested: number; lost: number; result: string }> };
    expect(Object.keys(verdict.sites).sort()).toEqual(['danforth', 'hudsonalpha', 'ksu-drone', 'ksu-drone-2', 'ua-mac']);
    for (const [name, s] of Object.entries(verdict.sites)) {
      expect({ name, result: s.result, lost: s.lost }).toEqual({ name, result: 'ok', lost: 0 });
      expect(s.completed).toBeGreaterThan(0);
      expect(s.at_destination).toBe(s.completed);
      expect(s.ingested).toBe(s.completed);
    }
    expect(verdict.sites['ksu-drone-2']).toMatchObject({ at_destination: 9, deleted: 0 });
    expect(verdict.sites['ua-mac']!.deleted).toBe(verdict.sites['ua-mac']!.completed);
    // Danforth: 4 snapshots × (metadata.json + 10 PNGs), each checked against the Scanalyzer's rows and blobs, staging emptied.
    expect(verdict.sites['danforth']).toMatchObject({ completed: 44, at_destination: 44, ingested: 44, deleted: 44 });
    if (code !== 0) throw new Error(stderr.slice(-4000));
  } finally {
    await deleteTopology(prefix).catch(() => undefined);
    await deleteKeys(prefix).catch(() => undefined);
    await dropTransferLogDatabase(transferLogDatabaseUrl(prefix)).catch(() => undefined);
    await dir.remove();
  }
}, 180_000);
