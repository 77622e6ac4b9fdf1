import { javaDate } from './java-date.js';
import { fileRoutingKey, mimeOf } from './mime.js';
import { ObjectIdGenerator, isObjectId } from './object-id.js';
import { titleMatcher } from './search.js';

describe('simulator core', () => {
  it('ObjectIds are 24 hex, start with the creation second, and always grow (same second, clock step back, replay)', () => {
    let now = 1_500_000_000_000;
    const g = new ObjectIdGenerator(() => now);
    const a = g.next();
    const b = g.next();
    expect(isObjectId(a)).toBe(true);
    expect(a.slice(0, 8)).toBe((1_500_000_000).toString(16));
    expect(b > a).toBe(true);
    now -= 60_000;
    expect(g.next() > b).toBe(true);
    const replayed = new ObjectIdGenerator(() => 0);
    replayed.observe(b);
    expect(replayed.next() > b).toBe(true);
  });

  it('renders dates like Java Date.toString in UTC', () => {
    expect(javaDate(Date.UTC(2016, 4, 17, 17, 11, 21))).toBe('Tue May 17 17:11:21 UTC 2016');
  });

  it('derives mime types and extractor routing keys', () => {
    expect(mimeOf('a.PNG')).toBe('image/png');
    expect(mimeOf('x_left.bin')).toBe('application/octet-stream');
    expect(mimeOf('a.ply', { ply: 'application/ply' })).toBe('application/ply');
    expect(fileRoutingKey('image/png')).toBe('clowder.file.image.png');
    expect(fileRoutingKey('application/vnd.ms-excel')).toBe('clowder.file.application.vnd_ms-excel');
  });

  it('matches titles like Mongo: case-insensitive unanchored regex, or exact', () => {
    expect(titleMatcher('stereotop - 2017', false)('stereoTop - 2017-06-01__12-00-00-000')).toBe(true);
    expect(titleMatcher('stereoTop - 2017', true)('stereoTop - 2017-06')).toBe(false);
  });
});
