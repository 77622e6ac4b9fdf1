import { belongsTo, compare, registeredAsFile } from './verify.js';

const f = (rel: string, size = 10) => ({ rel, size });

it('counts per sensor and names each file that is not where it should be', () => {
  const r = compare(
    [f('raw_data/stereoTop/2026-11-24/a/x.bin'), f('raw_data/stereoTop/2026-11-24/a/y.bin', 5), f('raw_data/EnvironmentLogger/2026-11-24/e.json')],
    [f('raw_data/stereoTop/2026-11-24/a/y.bin', 6), f('raw_data/stereoTop/2026-11-24/a/z.bin'), f('raw_data/EnvironmentLogger/2026-11-24/e.json')],
    [f('raw_data/stereoTop/2026-11-24/a/z.bin'), f('raw_data/stereoTop/2026-11-24/a/gone.bin'), f('raw_data/EnvironmentLogger/2026-11-24/e.json')],
  );
  expect(r.sensors).toEqual([
    { sensor: 'EnvironmentLogger', cache: { files: 1, bytes: 10 }, destination: { files: 1, bytes: 10 }, clowder: { files: 1, bytes: 10 } },
    { sensor: 'stereoTop', cache: { files: 2, bytes: 15 }, destination: { files: 2, bytes: 16 }, clowder: { files: 2, bytes: 20 } },
  ]);
  expect(r.differences.map((d) => [d.rel.split('/').pop(), d.problem])).toEqual([
    ['gone.bin', 'deleted_from_destination'],
    ['x.bin', 'not_at_destination'],
    ['y.bin', 'size_differs'],
    ['y.bin', 'not_in_clowder'],
  ]);
});

it('without Clowder, only the cache and the destination are compared', () => {
  expect(compare([f('raw_data/s/2026-11-24/x')], [f('raw_data/s/2026-11-24/x')], null).differences).toEqual([]);
});

it('a file belongs to a day by a dated folder or name', () => {
  expect(belongsTo('MovingSensor/stereoTop/2026-11-24/2026-11-24__10-00-00-000/left.bin', '2026-11-24')).toBe(true);
  expect(belongsTo('LemnaTec/EnvironmentLogger/2026-11-25/2026-11-25_10-05-00_environmentlogger.json', '2026-11-24')).toBe(false);
});

it('a metadata.json a site attaches to its dataset only (clowder.metadataAsFile: false) is not missing from Clowder', () => {
  const md = f('raw_data/s/2026-11-24/2026-11-24__10-00-00-000/a_metadata.json');
  const bin = f('raw_data/s/2026-11-24/2026-11-24__10-00-00-000/a.bin');
  const terra = (rel: string) => registeredAsFile(rel, false);
  expect(compare([], [md, bin], [bin], terra).differences).toEqual([]);
  expect(compare([], [md, bin], [], terra).differences.map((d) => [d.rel.split('/').pop(), d.problem])).toEqual([['a.bin', 'not_in_clowder']]);
  expect(compare([], [md, bin], [bin], (rel) => registeredAsFile(rel, true)).differences.map((d) => [d.rel.split('/').pop(), d.problem])).toEqual([['a_metadata.json', 'not_in_clowder']]);
});
