import { describe, expect, it } from '@jest/globals';
import { admits, completionFolder, decide, isMarker, mayHoldAdmitted } from './decide.js';
import { Settling } from './settling.js';
import { directoryUploadId } from './upload-id.js';
import { decodeVersion, encodeVersion } from './version.js';

const v = (size: number, mtimeMs = 1000) => ({ size, mtimeMs });

describe('decide', () => {
  it('a version already sent is left alone, without taking room in the settling set', () => {
    let asked = false;
    expect(decide({ version: v(1), sent: v(1), marker: 'none' }, () => ((asked = true), 'settled'))).toEqual({ kind: 'sent_already' });
    expect(asked).toBe(false);
  });
  it('settles first; a settled rewrite is a changed version', () => {
    expect(decide({ version: v(1), sent: null, marker: 'none' }, () => 'tracking')).toEqual({ kind: 'settling' });
    expect(decide({ version: v(1), sent: null, marker: 'none' }, () => 'settled')).toEqual({ kind: 'send', changed: false });
    expect(decide({ version: v(2), sent: v(1), marker: 'none' }, () => 'settled')).toEqual({ kind: 'send', changed: true });
    expect(decide({ version: v(1), sent: null, marker: 'none' }, () => 'full')).toEqual({ kind: 'deferred' });
  });
  it('markers: nothing before the marker; a first version at once after it; a rewrite settles', () => {
    expect(decide({ version: v(1), sent: null, marker: 'incomplete' }, () => 'settled')).toEqual({ kind: 'waiting_marker' });
    expect(decide({ version: v(1), sent: null, marker: 'complete' }, () => 'tracking')).toEqual({ kind: 'send', changed: false });
    expect(decide({ version: v(2), sent: v(1), marker: 'complete' }, () => 'tracking')).toEqual({ kind: 'settling' });
  });
});

describe('completion folders', () => {
  const run = { names: ['RTAComplete.txt'], folder: 'run' as const };
  const own = { names: ['done'], folder: 'own' as const };
  it('run: the first level below the whitelisted folder', () => {
    expect(completionFolder('NovaSeq/240101_A/Data/x.bcl', run, ['NovaSeq'])).toBe('NovaSeq/240101_A');
    expect(completionFolder('NovaSeq/loose.txt', run, ['NovaSeq'])).toBeNull();
    expect(completionFolder('a/b/RUN/x', run, ['a/b'])).toBe('a/b/RUN');
    expect(isMarker('NovaSeq/240101_A/RTAComplete.txt', run, ['NovaSeq'])).toBe(true);
    expect(isMarker('NovaSeq/240101_A/Data/RTAComplete.txt', run, ['NovaSeq'])).toBe(false);
  });
  it('own: the folder the file is in', () => {
    expect(completionFolder('flights/f1/img.jpg', own, ['flights'])).toBe('flights/f1');
    expect(isMarker('flights/f1/done', own, ['flights'])).toBe(true);
  });
});

describe('filters', () => {
  it('admits whitelisted, visible, not excluded files; walks only folders that may hold them', () => {
    expect(admits('runs/a', ['runs'], [])).toBe(true);
    expect(admits('runs/.a', ['runs'], [])).toBe(false);
    expect(admits('runsX/a', ['runs'], [])).toBe(false);
    expect(admits('runs/@Recycle/a', ['runs'], ['@Recycle'])).toBe(false);
    expect(mayHoldAdmitted('a', ['a/b'])).toBe(true);
    expect(mayHoldAdmitted('a/b/c', ['a/b'])).toBe(true);
    expect(mayHoldAdmitted('c', ['a/b'])).toBe(false);
    expect(mayHoldAdmitted('a/.tmp', ['a'])).toBe(false);
  });
});

describe('settling', () => {
  it('needs two looks settleMs apart with the same version; a change starts over; the cap holds', () => {
    const s = new Settling(2);
    expect(s.observe('a', v(1), 0, 100)).toBe('tracking');
    expect(s.observe('a', v(1), 50, 100)).toBe('tracking');
    expect(s.observe('a', v(2), 90, 100)).toBe('tracking');
    expect(s.observe('a', v(2), 150, 100)).toBe('tracking');
    expect(s.observe('a', v(2), 190, 100)).toBe('settled');
    expect(s.observe('b', v(1), 100, 100)).toBe('tracking');
    expect(s.observe('c', v(1), 100, 100)).toBe('full');
    expect(s.due(200, 100, 10)).toEqual(['a', 'b']);
    expect(s.due(150, 100, 10)).toEqual([]);
  });
});

describe('ids and versions', () => {
  it('one id per version; long ones hashed', () => {
    expect(directoryUploadId('s', 'a/b', 3, 1.5)).toBe('dir:s:a/b:3:1.5');
    const long = directoryUploadId('s', 'x/'.repeat(200), 3, 1);
    expect(long).toMatch(/^dir:s:sha256:[0-9a-f]{64}$/);
    expect(decodeVersion(encodeVersion(v(5, 1234.567)))).toEqual(v(5, 1234.567));
    expect(decodeVersion('garbage')).toBeNull();
  });
});
