/** Globus time format: YYYY-MM-DDTHH:MM:SS+00:00 (no milliseconds). */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/** Parses the ISO 8601 forms Globus accepts (with Z or an offset, or none = UTC). NaN when invalid. */
export function parseTime(s: string): number {
  const t = s.trim().replace(' ', 'T');
  const withZone = /([zZ]|[+-]\d{2}:?\d{2})$/.test(t) ? t : `${t}Z`;
  return Date.parse(withZone);
}
