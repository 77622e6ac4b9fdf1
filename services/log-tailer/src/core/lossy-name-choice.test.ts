import { SentVersions, chooseCandidate } from './lossy-name-choice.js';

const c = (size: number, sent = false, mtimeMs = 1) => ({ size, mtimeMs, sent });

describe('chooseCandidate', () => {
  it('takes the one candidate with the logged size', () => {
    expect(chooseCandidate(20, [c(10, true), c(20)])).toEqual({ kind: 'chosen', index: 1 });
    expect(chooseCandidate(10, [c(10), c(20)])).toEqual({ kind: 'chosen', index: 0 });
  });
  it('among those of the logged size, leaves out the versions already sent', () => {
    expect(chooseCandidate(10, [c(10, true), c(10)])).toEqual({ kind: 'chosen', index: 1 });
    expect(chooseCandidate(10, [c(10, true), c(10), c(10, true)])).toEqual({ kind: 'chosen', index: 1 });
  });
  it('without a candidate of the logged size (a resumed upload), decides by what was sent only', () => {
    expect(chooseCandidate(3, [c(10, true), c(20)])).toEqual({ kind: 'chosen', index: 1 });
    expect(chooseCandidate(3, [c(10), c(20)])).toEqual({ kind: 'undecidable', reason: 'several_unsent_none_of_size' });
    expect(chooseCandidate(3, [c(10, true), c(20, true)])).toEqual({ kind: 'undecidable', reason: 'all_sent_none_of_size' });
  });
  it('leaves undecided what the evidence cannot tell apart', () => {
    expect(chooseCandidate(10, [c(10), c(10)])).toEqual({ kind: 'undecidable', reason: 'several_of_size_unsent' });
    expect(chooseCandidate(10, [c(10, true), c(10, true)])).toEqual({ kind: 'undecidable', reason: 'all_of_size_sent' });
  });
});

describe('SentVersions', () => {
  it('knows a path by its size and mtime, and forgets the oldest beyond its capacity', () => {
    const s = new SentVersions(2);
    s.note('/a', 1, 100);
    expect(s.has('/a', 1, 100)).toBe(true);
    expect(s.has('/a', 1, 101)).toBe(false); // a new upload: a new mtime
    expect(s.has('/a', 2, 100)).toBe(false);
    s.note('/b', 1, 1);
    s.note('/a', 1, 100); // recent again
    s.note('/c', 1, 1);
    expect(s.size).toBe(2);
    expect(s.has('/b', 1, 1)).toBe(false);
    expect(s.has('/a', 1, 100)).toBe(true);
  });
});
