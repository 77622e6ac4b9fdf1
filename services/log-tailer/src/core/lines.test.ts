import { randomBytes } from 'node:crypto';
import { LineSplitter, type Line } from './lines.js';
import { parseXferlog } from './xferlog.js';

function feed(data: Buffer, max: number, chunk: () => number, start = 0): Line[] {
  const s = new LineSplitter(start, max);
  const out: Line[] = [];
  for (let p = 0; p < data.length; ) {
    const n = Math.min(data.length - p, chunk());
    s.push(data.subarray(p, p + n), out);
    p += n;
  }
  return out;
}

describe('LineSplitter', () => {
  it('returns lines with their offsets and keeps an unterminated tail back', () => {
    const s = new LineSplitter(1000, 100);
    expect(s.push(Buffer.from('ab\ncd'))).toEqual([{ start: 1000, end: 1003, text: 'ab', tooLong: false }]);
    expect(s.consumed).toBe(1003);
    expect(s.pendingBytes).toBe(2);
    expect(s.push(Buffer.from('e\n\n'))).toEqual([
      { start: 1003, end: 1007, text: 'cde', tooLong: false },
      { start: 1007, end: 1008, text: '', tooLong: false },
    ]);
  });

  it('does not keep a view of the caller\'s buffer (which is reused)', () => {
    const s = new LineSplitter(0, 100);
    const buf = Buffer.from('hello');
    s.push(buf);
    buf.fill(0x78);
    expect(s.push(Buffer.from(' world\n'))[0]!.text).toBe('hello world');
  });

  it('skips an over-long line in bounded memory and reports its offsets', () => {
    const s = new LineSplitter(0, 10);
    const out: Line[] = [];
    s.push(Buffer.from('ok\n0123456'), out);
    s.push(Buffer.from('789abcdef'), out);
    expect(s.pendingBytes).toBe(0); // not buffered
    expect(s.inLongLine).toBe(true);
    s.push(Buffer.from('gh\nnext\n'), out);
    expect(out).toEqual([
      { start: 0, end: 3, text: 'ok', tooLong: false },
      { start: 3, end: 22, text: '', tooLong: true },
      { start: 22, end: 27, text: 'next', tooLong: false },
    ]);
  });

  it('abandons an unterminated tail and says where it was', () => {
    const s = new LineSplitter(0, 100);
    s.push(Buffer.from('a\nbcd'));
    expect(s.abandonPartial()).toEqual({ start: 2, bytes: 3 });
    expect(s.abandonPartial()).toBeUndefined();
  });
});

/** Fuzz: a log of valid lines mixed with every kind of bad input, cut into random chunks. */
describe('fuzz: 120,000 generated lines through the splitter and the parser', () => {
  const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pick = <T>(a: readonly T[]): T => a[Math.floor(Math.random() * a.length)]!;
  const int = (n: number) => Math.floor(Math.random() * n);

  function validLine(i: number): { bytes: Buffer; filename: Buffer } {
    const day = 1 + int(28);
    const dayStr = Math.random() < 0.5 ? String(day).padStart(2, ' ') : String(day).padStart(2, '0');
    const host = pick(['192.0.2.10', '::1', '::ffff:10.0.0.7', '2001:db8::42']);
    // Filenames: ASCII, underscores, question marks, raw non-UTF-8 bytes (ProFTPD keeps bytes).
    const filename = Buffer.concat([Buffer.from(`/MovingSensor/s_${int(50)}/2016-08-0${1 + int(9)}/f${i}_`), Math.random() < 0.2 ? Buffer.from([0xff, 0xfe, 0xc3]) : Buffer.from('?x'), Buffer.from('.bin')]);
    const user = Math.random() < 0.1 ? 'anon pass with  spaces' : 'uploader';
    const head = `${pick(DAYS)} ${pick(MONTHS)} ${dayStr} ${String(int(24)).padStart(2, '0')}:${String(int(60)).padStart(2, '0')}:${String(int(60)).padStart(2, '0')} 20${10 + int(20)} ${int(100)} ${host} ${int(1e9)} `;
    const tail = ` b _ ${pick(['i', 'o'])} r ${user} ftp 0 * ${pick(['c', 'i'])}`;
    return { bytes: Buffer.concat([Buffer.from(head), filename, Buffer.from(tail)]), filename };
  }

  function garbage(): { bytes: Buffer; long: boolean } {
    const k = Math.random();
    if (k < 0.35) {
      // Binary garbage (no newline: that would make two lines).
      const g = randomBytes(1 + int(300));
      for (let j = 0; j < g.length; j++) if (g[j] === 10) g[j] = 0;
      return { bytes: g, long: false };
    }
    if (k < 0.7) {
      // A valid line cut short (a writer that died mid-line), always losing at least the status field.
      const v = validLine(0).bytes;
      return { bytes: v.subarray(0, int(v.length - 2)), long: false };
    }
    if (k < 0.9995) {
      // Invalid UTF-8 and control bytes in the date fields.
      return { bytes: Buffer.concat([Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0x01]), Buffer.from(' Aug  1 12:00:07 2025 3 h 1 /x b _ i r u ftp 0 * c')]), long: false };
    }
    // A 1 MB line.
    return { bytes: Buffer.alloc(1024 * 1024, 0x41), long: true };
  }

  it('recovers every valid line exactly, reports every bad one, never throws', () => {
    const N = 120_000;
    const parts: Buffer[] = [];
    const expected = new Map<number, Buffer>(); // start offset → filename bytes
    const bad = new Map<number, boolean>(); // start offset → too long
    let off = 0;
    let longLines = 0;
    for (let i = 0; i < N; i++) {
      if (Math.random() < 0.25) {
        const g = garbage();
        if (g.long) longLines++;
        bad.set(off, g.long);
        parts.push(g.bytes, Buffer.from('\n'));
        off += g.bytes.length + 1;
      } else {
        const v = validLine(i);
        expected.set(off, v.filename);
        parts.push(v.bytes, Buffer.from('\n'));
        off += v.bytes.length + 1;
      }
    }
    if (longLines === 0) {
      bad.set(off, true);
      const big = Buffer.alloc(1024 * 1024, 0x42);
      parts.push(big, Buffer.from('\n'));
    }
    const data = Buffer.concat(parts);
    const lines = feed(data, 16 * 1024, () => 1 + int(70_000));
    expect(lines).toHaveLength(expected.size + bad.size);

    // Plain checks in the loop (120k expect() calls would dominate the run time).
    let valid = 0;
    const problems: string[] = [];
    for (const l of lines) {
      const want = expected.get(l.start);
      if (want) {
        const r = parseXferlog(l.text);
        if (l.tooLong || !r.ok) problems.push(`valid line at ${l.start} not parsed`);
        else if (!Buffer.from(r.record.filename, 'latin1').equals(want)) problems.push(`wrong filename at ${l.start}`);
        else valid++;
      } else if (!bad.has(l.start)) problems.push(`unexpected line start ${l.start}`);
      else if (l.tooLong !== bad.get(l.start)) problems.push(`too-long flag wrong at ${l.start}`);
      else if (!l.tooLong && parseXferlog(l.text).ok) problems.push(`garbage at ${l.start} parsed as valid`);
    }
    expect(problems.slice(0, 5)).toEqual([]);
    expect(valid).toBe(expected.size);
    expect(lines[lines.length - 1]!.end).toBe(data.length);
  });
});
