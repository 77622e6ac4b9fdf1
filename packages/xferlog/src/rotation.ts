/**
 * Which files in the log's directory are rotated generations of it, and their
 * age order. logrotate names them `<log>.1`, `<log>.2.gz`, … (a higher number
 * is older) or, with `dateext`, `<log>-YYYYMMDD[.gz]` (an earlier date is
 * older). The suffix pattern is configurable; it must capture either a
 * number in a group named `n` or a date in a group named `date`.
 */
export const DEFAULT_ROTATED_SUFFIX = '^(?:\\.(?<n>\\d{1,4})|-(?<date>\\d{8}(?:\\d{2})?))(?:\\.gz)?$';

export interface RotatedName {
  name: string;
  gz: boolean;
  /** Sort key: smaller is older. */
  age: number;
}

export function rotatedSuffixRegex(source: string): RegExp {
  const re = new RegExp(source);
  if (!/\(\?<n>|\(\?<date>/.test(source)) throw new Error('the rotated-suffix pattern needs a named group n or date');
  return re;
}

/** The rotated generations of `base` among `names`, oldest first. */
export function rotatedGenerations(base: string, names: readonly string[], suffix: RegExp): RotatedName[] {
  const out: RotatedName[] = [];
  for (const name of names) {
    if (!name.startsWith(base) || name === base) continue;
    const m = suffix.exec(name.slice(base.length));
    if (!m) continue;
    const n = m.groups?.['n'];
    const date = m.groups?.['date'];
    let age: number;
    if (n !== undefined) age = -Number(n);
    else if (date !== undefined) age = Number(date) - 1e12; // every dated name sorts before every numbered one
    else continue;
    out.push({ name, gz: name.endsWith('.gz'), age });
  }
  // Same generation twice (`x.1` and `x.1.gz` while logrotate compresses): plain first, then gz.
  return out.sort((a, b) => a.age - b.age || Number(a.gz) - Number(b.gz));
}
