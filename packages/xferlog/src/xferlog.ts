/**
 * xferlog parser (wu-ftpd / vsftpd / ProFTPD), pure and allocation-light.
 *
 * A line is 18 space-separated fields, but two of them are not trustworthy
 * separators: the day of the month is padded with a space by vsftpd
 * (`Mon Aug  1`) and with a zero by ProFTPD (`Sat Oct 03`), and the username
 * (field 14) is, for vsftpd anonymous logins, the client-supplied password,
 * which may contain spaces. So the 13 fields up to the access mode are read
 * from the left (runs of spaces separate them), the last 4 from the right, and
 * whatever lies between is the username. Filenames never contain spaces: every
 * writer replaces them with `_`.
 *
 * Lines are taken as latin1 strings: one char per byte, so a filename's bytes
 * survive exactly (ProFTPD keeps UTF-8, vsftpd writes `?`) and invalid UTF-8
 * can never make a line unparseable.
 */

export type Direction = 'i' | 'o' | 'd';
export type Completion = 'c' | 'i';

export interface XferRecord {
  /** Wall-clock time as logged, as if it were UTC (the log has no zone; see `zonedToUtc`). */
  wallMs: number;
  transferSeconds: number;
  remoteHost: string;
  /** Bytes transferred (for an incomplete upload: the partial size). */
  bytes: number;
  /** Filename as logged (latin1: one char per byte). Lossy: see core/lossy-name.ts. */
  filename: string;
  transferType: 'a' | 'b';
  actionFlag: string;
  direction: Direction;
  accessMode: 'a' | 'g' | 'r';
  username: string;
  service: string;
  authMethod: string;
  authUserId: string;
  completion: Completion;
}

/** Why a line is not an xferlog record: a small fixed set, safe as a metric label. */
export type ParseFailure = 'empty' | 'bad_time' | 'bad_field' | 'too_few_fields';

export type ParseResult = { ok: true; record: XferRecord } | { ok: false; reason: ParseFailure };

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
const DAYS = new Set(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']);

const SP = 32;
const FAILURES: Record<ParseFailure, ParseResult> = {
  empty: Object.freeze({ ok: false, reason: 'empty' }),
  bad_time: Object.freeze({ ok: false, reason: 'bad_time' }),
  bad_field: Object.freeze({ ok: false, reason: 'bad_field' }),
  too_few_fields: Object.freeze({ ok: false, reason: 'too_few_fields' }),
};
const fail = (reason: ParseFailure): ParseResult => FAILURES[reason];

/** A three-letter name as one number (for lookups without slicing the line). */
const code3 = (s: string, at: number) => (s.charCodeAt(at) << 16) | (s.charCodeAt(at + 1) << 8) | s.charCodeAt(at + 2);
const DAY_CODES = new Set([...DAYS].map((d) => code3(d, 0)));
const MONTH_CODES = new Map(Object.entries(MONTHS).map(([m, i]) => [code3(m, 0), i]));

function isDigits(s: string): boolean {
  return digitsValue(s, 0, s.length) >= 0;
}

/** The value of s[from, to) when it is 1 to 15 ASCII digits, else -1. */
function digitsValue(s: string, from: number, to: number): number {
  if (to <= from || to - from > 15) return -1;
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function twoDigits(s: string, at: number): number {
  const a = s.charCodeAt(at) - 48;
  const b = s.charCodeAt(at + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function validDay(y: number, month: number, d: number): boolean {
  const leap = month === 1 && ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0);
  return d >= 1 && d <= DAYS_IN_MONTH[month]! + (leap ? 1 : 0);
}

function digit(s: string, at: number): number {
  const c = s.charCodeAt(at) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

/** Time from fixed positions of a ctime layout; -1 when invalid. */
function fixedTime(s: string): number {
  if (!DAY_CODES.has(code3(s, 0))) return -1;
  const month = MONTH_CODES.get(code3(s, 4));
  if (month === undefined) return -1;
  const d1 = s.charCodeAt(8) === SP ? 0 : digit(s, 8);
  const d2 = digit(s, 9);
  if (d1 < 0 || d2 < 0) return -1;
  const d = d1 * 10 + d2;
  if (s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return -1;
  const h = twoDigits(s, 11);
  const mi = twoDigits(s, 14);
  const sec = twoDigits(s, 17);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60) return -1;
  const y1 = twoDigits(s, 20);
  const y2 = twoDigits(s, 22);
  if (y1 < 0 || y2 < 0) return -1;
  const y = y1 * 100 + y2;
  if (!validDay(y, month, d)) return -1;
  return Date.UTC(y, month, d, h, mi, sec);
}

/** Time from separately tokenized fields (tolerant layout); -1 when invalid. */
function tokenTime(wd: string, mon: string, day: string, hms: string, year: string): number {
  if (!DAYS.has(wd)) return -1;
  const month = MONTHS[mon];
  if (month === undefined) return -1;
  if (day.length < 1 || day.length > 2 || !isDigits(day)) return -1;
  const d = Number(day);
  if (hms.length !== 8 || hms.charCodeAt(2) !== 58 || hms.charCodeAt(5) !== 58) return -1;
  const h = twoDigits(hms, 0);
  const mi = twoDigits(hms, 3);
  const sec = twoDigits(hms, 6);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60) return -1;
  if (year.length !== 4 || !isDigits(year)) return -1;
  const y = Number(year);
  if (!validDay(y, month, d)) return -1;
  return Date.UTC(y, month, d, h, mi, sec);
}

/*
 * Field boundaries as [start, end) offsets into the line, in scratch arrays
 * reused by every call (parsing is synchronous, so no call sees another's):
 * the line is sliced only for the fields the record keeps.
 */
/** The 8 fields read from the left: weekday, month, day, time, year, seconds, host, bytes. */
const LEFT = new Int32Array(16);
/** The 4 fields read from the right: status, auth user id, auth method, service. */
const RIGHT = new Int32Array(8);
/** The middle: filename end, type, action start and end, direction, mode, username start and end. */
const MID = new Int32Array(8);

function isTokenAt(s: string, at: number, end: number, a: number, b: number, c = -1): number {
  // Returns the index just after a one-char token (a, b or c) followed by a space, or -1.
  if (at + 1 >= end) return -1;
  const ch = s.charCodeAt(at);
  return (ch === a || ch === b || ch === c) && s.charCodeAt(at + 1) === SP ? at + 2 : -1;
}

/** Finds "filename type action direction mode username" in s[from, to); fills MID. */
function splitMiddle(s: string, from: number, to: number): boolean {
  let sp = s.indexOf(' ', from);
  while (sp !== -1 && sp < to) {
    let p = sp;
    while (p < to && s.charCodeAt(p) === SP) p++;
    const afterType = isTokenAt(s, p, to, 97, 98); // a b
    if (afterType !== -1) {
      let q = afterType;
      while (q < to && s.charCodeAt(q) === SP) q++;
      const flagEnd = s.indexOf(' ', q);
      if (flagEnd !== -1 && flagEnd < to && flagEnd - q >= 1 && flagEnd - q <= 8) {
        let r = flagEnd;
        while (r < to && s.charCodeAt(r) === SP) r++;
        const afterDir = isTokenAt(s, r, to, 111, 105, 100); // o i d
        if (afterDir !== -1) {
          let t = afterDir;
          while (t < to && s.charCodeAt(t) === SP) t++;
          const m = s.charCodeAt(t);
          // The access mode is followed by a space and the username (possibly empty: then `to` is right there).
          if (t < to && (m === 97 || m === 103 || m === 114) && (t + 1 === to || s.charCodeAt(t + 1) === SP)) {
            let u = t + 1;
            while (u < to && s.charCodeAt(u) === SP) u++;
            let ue = to;
            while (ue > u && s.charCodeAt(ue - 1) === SP) ue--;
            MID[0] = sp;
            MID[1] = p;
            MID[2] = q;
            MID[3] = flagEnd;
            MID[4] = r;
            MID[5] = t;
            MID[6] = u;
            MID[7] = ue;
            return true;
          }
        }
      }
    }
    sp = s.indexOf(' ', p);
  }
  return false;
}

const field = (s: string, a: Int32Array, i: number) => s.slice(a[2 * i]!, a[2 * i + 1]!);

/**
 * Parses one line (without its newline; a trailing `\r` is tolerated).
 * Never throws.
 */
export function parseXferlog(input: string): ParseResult {
  let end = input.length;
  if (end > 0 && input.charCodeAt(end - 1) === 13) end--;
  let pos = 0;
  while (pos < end && input.charCodeAt(pos) === SP) pos++;
  if (pos >= end) return fail('empty');

  // Fast path for the ctime layout every writer uses ("Mon Aug  1 12:00:07 2025",
  // day padded with a space or a zero): fixed positions, no slicing. Anything
  // else (runs of spaces, odd padding) goes through the tokenizer below.
  let wallMs = -1;
  let n = 0;
  if (pos === 0 && end > 25 && input.charCodeAt(3) === SP && input.charCodeAt(7) === SP && input.charCodeAt(10) === SP && input.charCodeAt(19) === SP && input.charCodeAt(24) === SP && input.charCodeAt(25) !== SP) {
    wallMs = fixedTime(input);
    if (wallMs < 0) return fail('bad_time');
    pos = 24;
    n = 5;
  }
  for (; n < 8; n++) {
    while (pos < end && input.charCodeAt(pos) === SP) pos++;
    if (pos >= end) return fail('too_few_fields');
    const sp = input.indexOf(' ', pos);
    const stop = sp === -1 || sp > end ? end : sp;
    LEFT[2 * n] = pos;
    LEFT[2 * n + 1] = stop;
    pos = stop;
  }
  // Right: status, auth user id, auth method, service (read backwards).
  let rpos = end;
  for (let k = 0; k < 4; k++) {
    while (rpos > pos && input.charCodeAt(rpos - 1) === SP) rpos--;
    if (rpos <= pos) return fail('too_few_fields');
    const sp = input.lastIndexOf(' ', rpos - 1);
    const start = sp < pos ? pos : sp + 1;
    RIGHT[2 * k] = start;
    RIGHT[2 * k + 1] = rpos;
    rpos = start;
  }
  // Middle: "filename type action direction mode username". The first place
  // where ` [ab] flag [oid] [agr] ` follows a token ends the filename (so a
  // filename with spaces from some other writer still parses); the rest, up
  // to the right fields, is the username (which may hold spaces).
  while (pos < rpos && input.charCodeAt(pos) === SP) pos++;
  const filenameStart = pos;
  if (!splitMiddle(input, filenameStart, rpos)) return fail('too_few_fields');
  if (wallMs < 0) {
    wallMs = tokenTime(field(input, LEFT, 0), field(input, LEFT, 1), field(input, LEFT, 2), field(input, LEFT, 3), field(input, LEFT, 4));
    if (wallMs < 0) return fail('bad_time');
  }

  const xt = digitsValue(input, LEFT[10]!, LEFT[11]!);
  const size = digitsValue(input, LEFT[14]!, LEFT[15]!);
  if (xt < 0 || size < 0) return fail('bad_field');
  const hostLength = LEFT[13]! - LEFT[12]!;
  if (hostLength === 0 || hostLength > 64) return fail('bad_field');

  // Status and auth method are single characters.
  const status = RIGHT[1]! - RIGHT[0]! === 1 ? input.charCodeAt(RIGHT[0]!) : 0;
  if (status !== 99 && status !== 105) return fail('bad_field'); // c i
  const authMethod = RIGHT[5]! - RIGHT[4]! === 1 ? input.charCodeAt(RIGHT[4]!) : 0;
  if (authMethod !== 48 && authMethod !== 49) return fail('bad_field'); // 0 1

  return {
    ok: true,
    record: {
      wallMs,
      transferSeconds: xt,
      remoteHost: field(input, LEFT, 6),
      bytes: size,
      filename: input.slice(filenameStart, MID[0]!),
      transferType: input[MID[1]!] as 'a' | 'b',
      actionFlag: input.slice(MID[2]!, MID[3]!),
      direction: input[MID[4]!] as Direction,
      accessMode: input[MID[5]!] as 'a' | 'g' | 'r',
      username: input.slice(MID[6]!, MID[7]!),
      service: field(input, RIGHT, 3),
      authMethod: authMethod === 48 ? '0' : '1',
      authUserId: field(input, RIGHT, 1),
      completion: status === 99 ? 'c' : 'i',
    },
  };
}

/** What a parsed record means for the tailer: only completed uploads become events. */
export type LineKind = 'upload' | 'incomplete_upload' | 'download' | 'delete';

export function kindOf(r: XferRecord): LineKind {
  if (r.direction === 'o') return 'download';
  if (r.direction === 'd') return 'delete';
  return r.completion === 'c' ? 'upload' : 'incomplete_upload';
}

/** Strips the IPv4-mapped IPv6 prefix (`::ffff:1.2.3.4` → `1.2.3.4`). */
export function normalizeHost(host: string): string {
  return /^::ffff:\d{1,3}(\.\d{1,3}){3}$/i.test(host) ? host.slice(7) : host;
}

const offsetCache = new Map<string, number>();

/**
 * Converts a wall-clock time logged in `timeZone` (IANA name or `UTC`) to
 * epoch ms. The zone offset is looked up once per zone and hour and cached, so
 * this stays cheap per line. Around a DST change the ambiguous hour resolves
 * to the earlier offset, which is the best a zone-less log allows.
 */
export function zonedToUtc(wallMs: number, timeZone: string): number {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return wallMs;
  const hour = Math.floor(wallMs / 3_600_000);
  const key = `${timeZone}|${hour}`;
  let off = offsetCache.get(key);
  if (off === undefined) {
    // offset(t) = local(t) - t; first guess t = wall, then refine once.
    const o1 = zoneOffset(wallMs, timeZone);
    const o2 = zoneOffset(wallMs - o1, timeZone);
    off = o2;
    if (offsetCache.size > 10_000) offsetCache.clear();
    offsetCache.set(key, off);
  }
  return wallMs - off;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function zoneOffset(utcMs: number, timeZone: string): number {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, f);
  }
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(utcMs))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const local = Date.UTC(parts['year']!, parts['month']! - 1, parts['day']!, parts['hour']!, parts['minute']!, parts['second']!);
  return local - Math.floor(utcMs / 1000) * 1000;
}

/** True when `timeZone` is a zone this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}
