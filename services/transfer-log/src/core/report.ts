/** Formatting and paging helpers for the API: pure. */

/** ISO 8601 week of a UTC day, e.g. 2026-W01 (weeks start on Monday; week 1 holds the year's first Thursday). */
export function isoWeek(day: Date): string {
  const d = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate()));
  const dow = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - dow);
  const year = d.getUTCFullYear();
  const week = Math.ceil(((d.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** YYYY-MM-DD of a UTC day. */
export function utcDay(t: Date): string {
  return t.toISOString().slice(0, 10);
}

/** The day partitions are named after: events_pYYYYMMDD. */
export function partitionName(day: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error(`not a day: ${day}`);
  return `events_p${day.replaceAll('-', '')}`;
}

/** Keyset cursor of the prefix listing: opaque to clients, checked on the way back. */
export function encodeCursor(path: string, uploadId: string): string {
  return Buffer.from(JSON.stringify([path, uploadId])).toString('base64url');
}

export function decodeCursor(cursor: string): { path: string; uploadId: string } | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' && isStorableText(v[0]) && isStorableText(v[1])) return { path: v[0], uploadId: v[1] };
  } catch {
    // not base64url JSON: invalid
  }
  return undefined;
}

/**
 * Text PostgreSQL can take as a query parameter and that says what the client
 * meant: no NUL (PostgreSQL refuses it), no lone surrogate, no U+FFFD (what a
 * query string's invalid UTF-8 decodes to: a lookup for it would quietly
 * answer about another path).
 */
export function isStorableText(s: string): boolean {
  // eslint-disable-next-line no-control-regex -- NUL and lone surrogates are what PostgreSQL text refuses
  return !/[\u0000\uFFFD]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/** A LIKE pattern matching every string that starts with `prefix` (its %, _ and \ taken literally). */
export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * RFC 4180 CSV. A text cell starting with = + - @ (or a tab/CR) is prefixed
 * with ' so a spreadsheet opening the daily report never runs it as a formula.
 */
export function toCsv(columns: readonly string[], rows: ReadonlyArray<Record<string, unknown>>): string {
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    let s = v instanceof Date ? v.toISOString() : String(v);
    if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\r\n') + '\r\n';
}
