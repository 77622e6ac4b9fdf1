import { decodeCursor, encodeCursor, isoWeek, isStorableText, likePrefix, toCsv } from './report.js';

it('isoWeek follows ISO 8601 (weeks from Monday; week 1 holds the first Thursday)', () => {
  expect(isoWeek(new Date('2026-01-05T12:00:00Z'))).toBe('2026-W02');
  expect(isoWeek(new Date('2026-01-01T00:00:00Z'))).toBe('2026-W01');
  expect(isoWeek(new Date('2027-01-01T00:00:00Z'))).toBe('2026-W53');
  expect(isoWeek(new Date('2024-12-30T00:00:00Z'))).toBe('2025-W01');
});

it('likePrefix takes %, _ and \\ literally', () => {
  expect(likePrefix('/a%b_c\\')).toBe('/a\\%b\\_c\\\\%');
});

it('cursors round-trip and anything else is refused', () => {
  expect(decodeCursor(encodeCursor('/a', 'u'))).toEqual({ path: '/a', uploadId: 'u' });
  expect(decodeCursor('nope')).toBeUndefined();
  expect(decodeCursor(Buffer.from('["/a\\u0000", "u"]').toString('base64url'))).toBeUndefined();
});

it('isStorableText refuses NUL, U+FFFD and lone surrogates', () => {
  expect(isStorableText('/a/b c/ü/😀')).toBe(true);
  for (const s of ['/a\u0000', '/a\uFFFD', '/a\ud800', '/a\udc00b']) expect(isStorableText(s)).toBe(false);
});

it('toCsv quotes per RFC 4180 and defuses formulas', () => {
  expect(toCsv(['a', 'b'], [{ a: 'x,"y"', b: 1 }, { a: '=cmd()', b: null }])).toBe('a,b\r\n"x,""y""",1\r\n\'=cmd(),\r\n');
});
