import { experimentOf, planFile } from './plan.js';

const sites = {
  'ua-mac': {
    destinationRoot: '/terraref/sites/ua-mac',
    clowderRoot: '/home/clowder/sites/ua-mac',
    space: 'ua-mac',
    skipDatasets: ['irrigation - 2017-06-01'],
    skipPathContains: ['@Recycle'],
  },
  danforth: { destinationRoot: '/terraref/sites/danforth', clowderRoot: '/home/clowder/sites/danforth', space: 'Danforth' },
};
const plan = (site: string, path: string) => {
  const r = planFile(sites, site, path);
  if (r.kind !== 'plan') throw new Error(`expected a plan, got ${JSON.stringify(r)}`);
  return r.plan;
};

describe('planFile: the original naming rules', () => {
  it('timestamp folder: sensor 4 levels up, dataset "<sensor> - <timestamp>", chain down to the day', () => {
    const p = plan('ua-mac', '/terraref/sites/ua-mac/raw_data/stereoTop/2017-06-01/2017-06-01__12-00-00-000/left.bin');
    expect(p).toMatchObject({
      sensor: 'stereoTop',
      datasetName: 'stereoTop - 2017-06-01__12-00-00-000',
      chain: ['stereoTop', 'stereoTop - 2017', 'stereoTop - 2017-06', 'stereoTop - 2017-06-01'],
      clowderPath: '/home/clowder/sites/ua-mac/raw_data/stereoTop/2017-06-01/2017-06-01__12-00-00-000/left.bin',
      localPath: '/terraref/sites/ua-mac/raw_data/stereoTop/2017-06-01/2017-06-01__12-00-00-000/left.bin',
      spaceName: 'ua-mac',
      isDatasetMetadata: false,
    });
  });

  it('date folder: sensor 3 levels up, dataset "<sensor> - <date>", no day collection; the EnviromentLogger typo is fixed', () => {
    const p = plan('ua-mac', '/terraref/sites/ua-mac/raw_data/EnviromentLogger/2016-04-05/2016-04-05_12-34-56_environmentlogger.json');
    expect(p).toMatchObject({ sensor: 'EnvironmentLogger', datasetName: 'EnvironmentLogger - 2016-04-05', chain: ['EnvironmentLogger', 'EnvironmentLogger - 2016', 'EnvironmentLogger - 2016-04'] });
  });

  it('MAC weather files and Level_1 .ply files follow the same rule', () => {
    expect(plan('ua-mac', '/terraref/sites/ua-mac/raw_data/lightning/2016-04-05/weather.dat').datasetName).toBe('lightning - 2016-04-05');
    const ply = plan('ua-mac', '/terraref/sites/ua-mac/Level_1/scanner3DTop/2017-05-01/2017-05-01__10-11-12-123/a_west.ply');
    expect(ply.chain).toEqual(['scanner3DTop', 'scanner3DTop - 2017', 'scanner3DTop - 2017-05', 'scanner3DTop - 2017-05-01']);
  });

  it('marks *metadata.json files as the dataset metadata', () => {
    expect(plan('ua-mac', '/terraref/sites/ua-mac/raw_data/stereoTop/2017-06-01/2017-06-01__12-00-00-000/abc_metadata.json').isDatasetMetadata).toBe(true);
  });

  it('reads files under localRoot when the destination is mounted elsewhere', () => {
    const r = planFile({ x: { destinationRoot: '/site', clowderRoot: '/clowder/site', localRoot: '/mnt/hpc/site', space: 'x' } }, 'x', '/site/raw_data/s/2017-06-01/f.json');
    expect(r).toMatchObject({ kind: 'plan', plan: { localPath: '/mnt/hpc/site/raw_data/s/2017-06-01/f.json', clowderPath: '/clowder/site/raw_data/s/2017-06-01/f.json' } });
  });

  it('Danforth snapshots use their own root and space', () => {
    const p = plan('danforth', '/terraref/sites/danforth/raw_data/ddpscIndoorSuite/2016-06-01/2016-06-01__08-30-00-000/VIS_SV_0.png');
    expect(p).toMatchObject({ spaceName: 'Danforth', datasetName: 'ddpscIndoorSuite - 2016-06-01__08-30-00-000' });
  });

  it('rejects unknown sites, paths outside the root and paths without the layout; skips by rule', () => {
    expect(planFile(sites, 'nowhere', '/x/y')).toMatchObject({ kind: 'invalid', code: 'UNKNOWN_SITE' });
    expect(planFile(sites, 'ua-mac', '/terraref/sites/other/raw_data/a/2017-01-01/f')).toMatchObject({ kind: 'invalid', code: 'OUTSIDE_SITE_ROOT' });
    expect(planFile(sites, 'ua-mac', '/terraref/sites/ua-mac/raw_data/stereoTop/notadate/f.bin')).toMatchObject({ kind: 'invalid', code: 'PATH_LAYOUT' });
    expect(planFile(sites, 'ua-mac', '/terraref/sites/ua-mac/raw_data/stereoTop/2017-06-01/.f.bin.part')).toMatchObject({ kind: 'skip', reason: 'hidden' });
    expect(planFile(sites, 'ua-mac', '/terraref/sites/ua-mac/raw_data/@Recycle/x/2017-06-01/f.bin')).toMatchObject({ kind: 'skip', reason: 'skipped-path' });
    expect(planFile(sites, 'ua-mac', '/terraref/sites/ua-mac/raw_data/irrigation/2017-06-01/f.dat')).toMatchObject({ kind: 'skip', reason: 'skipped-dataset' });
  });
});

describe('experimentOf: the collection of an experiment site', () => {
  it('takes the measurement label, else the database; whitespace folded, blanks ignored', () => {
    expect(experimentOf({ experiment: 'Bellwether_2026', database: 'lt_db_7' })).toBe('Bellwether_2026');
    expect(experimentOf({ experiment: '  Drought  trial,\t2026 ', database: 'x' })).toBe('Drought trial, 2026');
    expect(experimentOf({ experiment: '   ', database: 'lt_db_7' })).toBe('lt_db_7');
    expect(experimentOf({ experiment: 42, database: 'lt_db_7' })).toBe('lt_db_7');
    expect(experimentOf({ experiment: 'x'.repeat(500) })).toHaveLength(200);
  });

  it('null when the metadata names no experiment (the dataset keeps the sensor/date chain)', () => {
    expect(experimentOf({ title: 'no experiment here' })).toBeNull();
    expect(experimentOf([{ experiment: 'in an array' }])).toBeNull();
    expect(experimentOf('text')).toBeNull();
    expect(experimentOf(null)).toBeNull();
  });
});
