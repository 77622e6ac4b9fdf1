import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { tempDir } from '@terra-transfer/testkit';
import { Gantry, xferLine, xferTime } from './gantry.js';

describe('Gantry (upload generator)', () => {
  it('writes vsftpd lines with a space-padded day and underscores for spaces', () => {
    expect(xferTime(new Date('2025-08-01T12:00:07Z'))).toBe('Fri Aug  1 12:00:07 2025');
    expect(xferLine({ ftpPath: '/incoming/run 42/a b.fits', size: 10, direction: 'i', status: 'c' }, new Date('2025-08-01T12:00:07Z'))).toBe(
      'Fri Aug  1 12:00:07 2025 1 192.168.10.21 10 /incoming/run_42/a_b.fits b _ i r gantry ftp 0 * c',
    );
  });

  it('writes files and a log line for each, rotating like logrotate (create, compress, delaycompress)', async () => {
    const dir = await tempDir('gantry');
    try {
      const g = new Gantry({ cacheRoot: join(dir.path, 'cache'), logDir: join(dir.path, 'log'), ftpRoot: '/gantry_data', rotateEvery: 10, keep: 20, abortShare: 0.1, downloadShare: 0.1, outsideShare: 0.1, seed: 7 });
      for (let i = 0; i < 30; i++) await g.dataset();
      const logs = (await readdir(join(dir.path, 'log'))).sort();
      expect(logs).toContain('xferlog');
      expect(logs).toContain('xferlog.1');
      expect(logs.some((f) => f.endsWith('.gz'))).toBe(true);
      let lines: string[] = [];
      for (const f of logs) {
        const raw = await readFile(join(dir.path, 'log', f));
        lines = lines.concat((f.endsWith('.gz') ? gunzipSync(raw) : raw).toString().split('\n').filter(Boolean));
      }
      expect(lines).toHaveLength(g.uploads.length);
      expect(g.uploads.some((u) => u.status === 'i')).toBe(true);
      expect(g.uploads.some((u) => u.direction === 'o')).toBe(true);
      expect(g.uploads.some((u) => u.rel.startsWith('Unsorted/'))).toBe(true);
      for (const u of g.expected()) {
        expect((await stat(join(dir.path, 'cache', u.rel))).size).toBe(u.size);
        expect(u.rel).toMatch(/^(MovingSensor|LemnaTec)\//);
      }
      expect(g.expected().some((u) => u.rel.endsWith('_metadata.json'))).toBe(true);
    } finally {
      await dir.remove();
    }
  });

  it('logs killed uploads (truncated, logged complete) with their retry a second later, and rewrites; expected() is the newest content of each path', async () => {
    const dir = await tempDir('gantry');
    try {
      const g = new Gantry({ cacheRoot: join(dir.path, 'cache'), logDir: join(dir.path, 'log'), ftpRoot: '/gantry_data', rotateEvery: 0, abortShare: 0, outsideShare: 0, downloadShare: 0, killedShare: 0.2, rewriteShare: 0.2, retryDelayMs: 50, rewriteDelayMs: [100, 200], seed: 11 });
      for (let i = 0; i < 20; i++) await g.dataset();
      expect(g.planned).toBeGreaterThan(0);
      await g.settle();
      expect(g.planned).toBe(0);
      const killed = g.uploads.filter((u) => u.kind === 'killed');
      const rewrites = g.uploads.filter((u) => u.kind === 'rewrite');
      expect(killed.length).toBeGreaterThan(0);
      expect(rewrites.length).toBeGreaterThan(0);
      const lines = (await readFile(join(dir.path, 'log', 'xferlog'), 'utf8')).split('\n').filter(Boolean);
      for (const k of killed) {
        // Logged complete with the truncated size, then the whole file logged again about a second later.
        const logged = lines.filter((l) => l.includes(` ${k.ftpPath} `));
        expect(logged).toHaveLength(2);
        expect(logged[0]).toMatch(new RegExp(` ${k.size} ${k.ftpPath} .* c$`));
        const retry = g.uploads.find((u) => u.kind === 'retry' && u.rel === k.rel)!;
        expect(retry.size).toBeGreaterThan(k.size);
        expect(logged[1]).toContain(` ${retry.size} ${k.ftpPath} `);
        const t = (l: string) => Date.parse(`${l.slice(4, 24)} UTC`);
        expect(t(logged[1]!) - t(logged[0]!)).toBe(1000);
      }
      const expected = g.expected();
      expect(new Set(expected.map((u) => u.rel)).size).toBe(expected.length);
      for (const u of expected) {
        // The newest content is what is in the cache now.
        const body = await readFile(join(dir.path, 'cache', u.rel));
        expect(body.length).toBe(u.size);
        expect(createHash('md5').update(body).digest('hex')).toBe(u.md5);
      }
      for (const r of rewrites) expect(expected.find((u) => u.rel === r.rel)).toMatchObject({ md5: r.md5, versions: 2 });
    } finally {
      await dir.remove();
    }
  });
});
