import { decide, newScan, parseWhen, scanLine } from './replay.js';

const line = (path: string, time = 'Tue Nov 24 10:00:00 2026', dir = 'i', status = 'c') => `${time} 1 192.168.10.21 100 ${path} b _ ${dir} r gantry ftp 0 * ${status}`;
const opts = { from: Date.parse('2026-11-24T00:00:00Z'), to: Date.parse('2026-11-25T00:00:00Z'), timeZone: 'UTC', mapping: { ftpRoot: '/gantry_data', userRoots: {} }, whitelist: ['MovingSensor/stereoTop'] };

describe('scanLine', () => {
  it('keeps completed uploads in the range under the whitelist; counts the rest', () => {
    const s = newScan();
    scanLine(s, line('/gantry_data/MovingSensor/stereoTop/2026-11-24/a.bin'), opts);
    scanLine(s, line('/gantry_data/MovingSensor/stereoTop/2026-11-24/a.bin', 'Tue Nov 24 11:00:00 2026'), opts);
    scanLine(s, line('/gantry_data/MovingSensor/stereoTop/2026-11-24/b.bin', 'Tue Nov 24 10:00:00 2026', 'o'), opts); // a download
    scanLine(s, line('/gantry_data/MovingSensor/stereoTop/2026-11-24/c.bin', 'Tue Nov 24 10:00:00 2026', 'i', 'i'), opts); // incomplete
    scanLine(s, line('/gantry_data/MovingSensor/stereoTop/2026-11-24/d.bin', 'Wed Nov 25 10:00:00 2026'), opts); // after the range
    scanLine(s, line('/gantry_data/Unsorted/e.bin'), opts); // not whitelisted
    scanLine(s, line('/gantry_data/MovingSensor/stereoTop/.f.bin'), opts); // hidden
    scanLine(s, line('/elsewhere/MovingSensor/stereoTop/g.bin'), opts); // outside the FTP root
    scanLine(s, 'not a log line', opts);
    expect([...s.uploads.keys()]).toEqual(['MovingSensor/stereoTop/2026-11-24/a.bin']);
    expect(s.uploads.get('MovingSensor/stereoTop/2026-11-24/a.bin')!.at).toBe(Date.parse('2026-11-24T11:00:00Z'));
    expect(s).toMatchObject({ lines: 9, unparsed: 1, uploadsInRange: 5, ignored: 3, earliest: Date.parse('2026-11-24T10:00:00Z'), latest: Date.parse('2026-11-25T10:00:00Z') });
  });

  it("reads the log's times in the site's time zone", () => {
    const s = newScan();
    scanLine(s, line('/gantry_data/MovingSensor/stereoTop/x.bin', 'Tue Nov 24 23:30:00 2026'), { ...opts, timeZone: 'America/Phoenix' });
    expect(s.uploads.size).toBe(0); // 23:30 in Arizona is 06:30 UTC the next day
    expect(s.latest).toBe(Date.parse('2026-11-25T06:30:00Z'));
  });
});

describe('parseWhen', () => {
  it('takes a day (its start, or its end) or an ISO time; anything else is NaN', () => {
    expect(parseWhen('2026-11-24', false)).toBe(Date.parse('2026-11-24T00:00:00Z'));
    expect(parseWhen('2026-11-24', true)).toBe(Date.parse('2026-11-25T00:00:00Z'));
    expect(parseWhen('2026-11-24T10:00:00Z', true)).toBe(Date.parse('2026-11-24T10:00:00Z'));
    for (const bad of ['2026-02-30', '2026-13-01', 'yesterday', '24/11/2026']) expect(parseWhen(bad, false)).toBeNaN();
  });
});

describe('decide: the ledger and the disk decide', () => {
  const disk = { size: 10, mtimeMs: 1000 };
  it.each([
    [null, disk, 'send'],
    [{ state: 'transferred', size: 10, mtimeMs: 1000 }, disk, 'transferred'],
    [{ state: 'transferred', size: 10, mtimeMs: 1000.4 }, disk, 'transferred'], // the same millisecond
    [{ state: 'deleted', size: 10, mtimeMs: 1000 }, null, 'transferred'],
    [{ state: 'pending', size: 10, mtimeMs: 1000 }, disk, 'in_pipeline'],
    [{ state: 'in_flight', size: 10, mtimeMs: 1000 }, disk, 'in_pipeline'],
    [{ state: 'failed', size: 10, mtimeMs: 1000 }, disk, 'send'],
    [{ state: 'transferred', size: 9, mtimeMs: 900 }, disk, 'send'], // another version was sent, not this one
    [null, null, 'missing'],
    [{ state: 'pending', size: 10, mtimeMs: 1000 }, null, 'missing'],
  ] as const)('record %j, disk %j → %s', (record, d, verdict) => {
    expect(decide(record, d)).toBe(verdict);
  });
});
