import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { kindOf, normalizeHost, parseXferlog, zonedToUtc, type XferRecord } from './xferlog.js';

const fixture = readFileSync(fileURLToPath(new URL('../../../services/log-tailer/test/fixtures/vsftpd-xferlog.txt', import.meta.url)), 'latin1').split('\n').filter(Boolean);

function ok(line: string): XferRecord {
  const r = parseXferlog(line);
  if (!r.ok) throw new Error(`did not parse (${r.reason}): ${line}`);
  return r.record;
}

describe('parseXferlog on lines captured from a real vsftpd', () => {
  it('parses every captured line', () => {
    expect(fixture.length).toBeGreaterThanOrEqual(10);
    for (const line of fixture) ok(line);
  });

  it('reads the fields of a completed upload', () => {
    const r = ok(fixture[0]!);
    expect(r).toMatchObject({
      transferSeconds: 1,
      remoteHost: '127.0.0.1',
      bytes: 1234,
      filename: '/MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195/left.bin',
      transferType: 'b',
      actionFlag: '_',
      direction: 'i',
      accessMode: 'r',
      username: 'terraftp',
      service: 'ftp',
      authMethod: '0',
      authUserId: '*',
      completion: 'c',
    });
    expect(new Date(r.wallMs).toISOString()).toBe('2026-11-24T11:40:09.000Z');
    expect(kindOf(r)).toBe('upload');
  });

  it('keeps vsftpd\'s lossy names as logged: space → _, non-ASCII and control bytes → ?', () => {
    const names = fixture.map((l) => ok(l).filename.split('/').pop());
    expect(names).toEqual(expect.arrayContaining(['a_b.bin', 'caf??.bin', 'q?mark.bin', 'ctl?tab?x.bin']));
  });

  it('tells downloads and aborted uploads from completed uploads', () => {
    const kinds = fixture.map((l) => kindOf(ok(l)));
    expect(kinds.filter((k) => k === 'download')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'incomplete_upload')).toHaveLength(1);
    const aborted = fixture.map(ok).find((r) => r.completion === 'i')!;
    expect(aborted.filename).toMatch(/aborted\.bin$/);
  });

  it('parses IPv6 and IPv4-mapped remote hosts', () => {
    const hosts = fixture.map((l) => ok(l).remoteHost);
    expect(hosts).toEqual(expect.arrayContaining(['::1', '::ffff:127.0.0.1']));
    expect(normalizeHost('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeHost('::1')).toBe('::1');
    expect(normalizeHost('2001:db8::7')).toBe('2001:db8::7');
  });
});

describe('parseXferlog edge cases', () => {
  it('accepts a space-padded day (vsftpd) and a zero-padded day (ProFTPD)', () => {
    const a = ok('Mon Aug  1 12:00:07 2025 3 192.0.2.10 104857600 /incoming/run_42/img_0001.fits b _ i r uploader ftp 0 * c');
    const b = ok('Sat Oct 03 11:26:12 2020 0 192.168.1.12 0 /var/log/proftpd/xferlog b _ o r root ftp 0 * c');
    expect(new Date(a.wallMs).toISOString()).toBe('2025-08-01T12:00:07.000Z');
    expect(new Date(b.wallMs).toISOString()).toBe('2020-10-03T11:26:12.000Z');
    expect(b.direction).toBe('o');
  });

  it('takes the last fields from the right, so a username with spaces cannot shift them', () => {
    // vsftpd anonymous: the username field is the client's password, any text.
    const r = ok('Mon Aug  1 12:00:07 2025 1 192.0.2.10 10 /pub/x.dat b _ i a me at example dot org  c  ftp 0 * c');
    expect(r.username).toBe('me at example dot org  c');
    expect(r.accessMode).toBe('a');
    expect(r.completion).toBe('c');
  });

  it('keeps a filename with spaces from a writer that does not replace them', () => {
    const r = ok('Mon Aug  1 12:00:07 2025 1 192.0.2.10 10 /data/a b c.dat b _ i r bob ftp 0 * c');
    expect(r.filename).toBe('/data/a b c.dat');
    expect(r.username).toBe('bob');
  });

  it('accepts ProFTPD extras: multi-char action flags, sftp service, deletes, RFC931 auth', () => {
    const r = ok('Sat Oct 03 11:26:12 2020 0 2001:db8::1 0 /home/u/x b CT d r u sftp 1 ident-user c');
    expect(r).toMatchObject({ actionFlag: 'CT', direction: 'd', service: 'sftp', authMethod: '1', authUserId: 'ident-user', remoteHost: '2001:db8::1' });
    expect(kindOf(r)).toBe('delete');
  });

  it('tolerates a trailing CR and runs of spaces', () => {
    const r = ok('Mon Aug  1 12:00:07 2025   3  192.0.2.10 5 /a/b.dat a _ i g guest ftp 0 * i\r');
    expect(r).toMatchObject({ transferType: 'a', accessMode: 'g', completion: 'i', bytes: 5 });
    expect(kindOf(r)).toBe('incomplete_upload');
  });

  it('keeps non-ASCII bytes (latin1 in, one char per byte)', () => {
    const raw = Buffer.concat([Buffer.from('Mon Aug  1 12:00:07 2025 1 h 1 /d/caf'), Buffer.from('é', 'utf8'), Buffer.from('.bin b _ i r u ftp 0 * c')]);
    const r = ok(raw.toString('latin1'));
    expect(Buffer.from(r.filename, 'latin1').toString('utf8')).toBe('/d/café.bin');
  });

  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['Mon Aug  1 12:00:07 2025 3 192.0.2.10 104857600 /x b _ i r', 'too_few_fields'],
    ['Mon Aug  1 12:00:07 2025 3 192.0.2.10 104857600 /x b _ i r uploader ftp 0 *', 'bad_field'],
    ['Xyz Aug  1 12:00:07 2025 3 h 1 /x b _ i r u ftp 0 * c', 'bad_time'],
    ['Mon Foo  1 12:00:07 2025 3 h 1 /x b _ i r u ftp 0 * c', 'bad_time'],
    ['Mon Feb 30 12:00:07 2025 3 h 1 /x b _ i r u ftp 0 * c', 'bad_time'],
    ['Mon Aug  1 24:00:07 2025 3 h 1 /x b _ i r u ftp 0 * c', 'bad_time'],
    ['Mon Aug  1 12:00 2025 3 h 1 /x b _ i r u ftp 0 * c', 'bad_time'],
    ['Mon Aug  1 12:00:07 2025 3 h -1 /x b _ i r u ftp 0 * c', 'bad_field'],
    ['Mon Aug  1 12:00:07 2025 x h 1 /x b _ i r u ftp 0 * c', 'bad_field'],
    ['Mon Aug  1 12:00:07 2025 3 h 1 /x b _ i r u ftp 0 * x', 'bad_field'],
    ['Mon Aug  1 12:00:07 2025 3 h 1 /x b _ i r u ftp 7 * c', 'bad_field'],
    ['Mon Aug  1 12:00:07 2025 3 h 1 /x q _ q q u ftp 0 * c', 'too_few_fields'],
  ])('rejects %j as %s', (line, reason) => {
    expect(parseXferlog(line)).toEqual({ ok: false, reason });
  });
});

describe('zonedToUtc', () => {
  const wall = Date.UTC(2025, 7, 1, 12, 0, 7);
  it('is the identity for UTC', () => {
    expect(zonedToUtc(wall, 'UTC')).toBe(wall);
  });
  it('applies the zone offset in force (Arizona has no DST: UTC-7)', () => {
    expect(new Date(zonedToUtc(wall, 'America/Phoenix')).toISOString()).toBe('2025-08-01T19:00:07.000Z');
  });
  it('follows daylight saving time', () => {
    expect(new Date(zonedToUtc(Date.UTC(2025, 0, 15, 12, 0, 0), 'Europe/Paris')).toISOString()).toBe('2025-01-15T11:00:00.000Z');
    expect(new Date(zonedToUtc(Date.UTC(2025, 6, 15, 12, 0, 0), 'Europe/Paris')).toISOString()).toBe('2025-07-15T10:00:00.000Z');
  });
});
