import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { experimentMetadata, siteMetadata, sitesOnDate, type BetyExperiment, type BetySite } from './betydb-records.js';
import { centroid, utmToLatLon } from './gantry-spatial.js';
import { arizonaTime, cleanLemnaTec, type CleanInputs } from './lemnatec-clean.js';
import { cleanMetadata } from './metadata.js';
import { expectClose } from '../../test/expect-close.js';

/**
 * The cases (test/fixtures/*.case.json, see the README there) are gantry
 * metadata.json files as TERRA's gantry wrote them; the expected records were
 * produced by terrautils 1.1.0's own lemnatec.clean run on them.
 */
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures');
interface Case { sensor: string; metadata: Record<string, unknown>; fixed: Record<string, Record<string, unknown>>; experiments: BetyExperiment[]; sites: BetySite[] }
const load = <T>(name: string) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T;
const IDS: Record<string, string> = { scanalyzer: '5873eac64f0cad7d81349b0b', stereoTop: '5873a8ae4f0cad7d8131ac0e', scanner3DTop: '5873a7444f0cad7d81319b2b' };
const CLOWDER = 'https://terraref.ncsa.illinois.edu/clowder';

function inputs(c: Case, over: Partial<CleanInputs> = {}): CleanInputs {
  const id = IDS[c.sensor]!;
  return { sensor: c.sensor, clowderUrl: CLOWDER, gantryFixedDatasetId: IDS['scanalyzer']!, sensorFixedDatasetId: id, sensorFixed: c.fixed[id]!, ...over };
}

describe('cleanLemnaTec (terrautils 1.1.0 lemnatec.clean)', () => {
  for (const sensor of ['stereoTop', 'scanner3DTop']) {
    it(`${sensor}: the record terrautils made`, () => {
      const c = load<Case>(`${sensor}.case.json`);
      const r = cleanLemnaTec(cleanMetadata(c.metadata) as Record<string, unknown>, inputs(c));
      if (r.kind !== 'cleaned') throw new Error(r.detail);
      expect(r.notes).toEqual([]);
      // BETYdb's part, as the converter adds it: experiments on the date, sites at each centroid.
      const record = { ...r.content, experiment_metadata: experimentMetadata(c.experiments, r.date), site_metadata: siteMetadata(r.centroids.map(() => c.sites)) };
      expectClose(record, load(`${sensor}.expected.json`));
    });
  }

  it('stereoTop: two images (left, right) whose centroids are the middles of their boxes', () => {
    const c = load<Case>('stereoTop.case.json');
    const r = cleanLemnaTec(cleanMetadata(c.metadata) as Record<string, unknown>, inputs(c));
    if (r.kind !== 'cleaned') throw new Error(r.detail);
    const spatial = r.content['spatial_metadata'] as Record<string, { centroid: number[]; bounding_box: { coordinates: number[][] } }>;
    expect(Object.keys(spatial).sort()).toEqual(['left', 'right']);
    // Maricopa, Arizona; the left camera is north of the right one (x grows northward), same latitude span.
    for (const side of ['left', 'right']) {
      expect(spatial[side]!.centroid[0]).toBeGreaterThan(33.07);
      expect(spatial[side]!.centroid[0]).toBeLessThan(33.08);
      expect(spatial[side]!.centroid[1]).toBeGreaterThan(-111.98);
      expect(spatial[side]!.centroid[1]).toBeLessThan(-111.97);
    }
    expect(r.centroids).toEqual([spatial['left']!.centroid, spatial['right']!.centroid]);
  });

  it('without the fixed metadata: links where ids are configured, no spatial part, each gap named', () => {
    const c = load<Case>('stereoTop.case.json');
    const md = cleanMetadata(c.metadata) as Record<string, unknown>;
    const none = cleanLemnaTec(md, { sensor: 'stereoTop', clowderUrl: CLOWDER });
    if (none.kind !== 'cleaned') throw new Error(none.detail);
    expect(Object.keys(none.content).sort()).toEqual(['gantry_variable_metadata', 'sensor_variable_metadata', 'terraref_cleaned_metadata']);
    expect(none.notes).toEqual(['gantry_fixed_metadata_unconfigured', 'sensor_fixed_metadata_unconfigured']);
    expect(none.centroids).toEqual([]);
    const { sensorFixed: _absent, ...withoutContent } = inputs(c);
    const absent = cleanLemnaTec(md, withoutContent);
    if (absent.kind !== 'cleaned') throw new Error(absent.detail);
    expect(absent.content['sensor_fixed_metadata']).toEqual({ url: `${CLOWDER}/api/datasets/${IDS['stereoTop']}/metadata.jsonld` });
    expect(absent.content).not.toHaveProperty('spatial_metadata');
    expect(absent.notes).toEqual(['sensor_fixed_metadata_absent']);
  });

  it('fixed metadata without a field of view or place: no spatial part (the Python raised)', () => {
    const c = load<Case>('stereoTop.case.json');
    const r = cleanLemnaTec(cleanMetadata(c.metadata) as Record<string, unknown>, inputs(c, { sensorFixed: { sensor_id: 'stereo camera box' } }));
    if (r.kind !== 'cleaned') throw new Error(r.detail);
    expect(r.content).not.toHaveProperty('spatial_metadata');
    expect(r.notes).toEqual(['spatial_inputs_missing']);
  });

  it('scanner3DTop without the scanners\' places: an empty point cloud origin', () => {
    const c = load<Case>('scanner3DTop.case.json');
    const r = cleanLemnaTec(cleanMetadata(c.metadata) as Record<string, unknown>, inputs(c, { sensorFixed: { field_of_view_m: { y: '0.8' } } }));
    if (r.kind !== 'cleaned') throw new Error(r.detail);
    expect((r.content['sensor_variable_metadata'] as Record<string, unknown>)['point_cloud_origin_m']).toEqual({ east: {}, west: {} });
  });

  it('a sensor terrautils could not clean, or no usable time: not cleanable, with the reason', () => {
    const c = load<Case>('stereoTop.case.json');
    const md = cleanMetadata(c.metadata) as Record<string, unknown>;
    expect(cleanLemnaTec(md, { sensor: 'parSensor', clowderUrl: CLOWDER })).toMatchObject({ kind: 'not-cleanable', reason: 'no_sensor_converter' });
    expect(cleanLemnaTec(md, { sensor: 'toString', clowderUrl: CLOWDER })).toMatchObject({ kind: 'not-cleanable', reason: 'no_sensor_converter' });
    const gantry = (md['lemnatec_measurement_metadata'] as Record<string, Record<string, unknown>>)['gantry_system_variable_metadata']!;
    const { time: _t, ...noTime } = gantry;
    const withGantry = (g: Record<string, unknown>) => ({ lemnatec_measurement_metadata: { gantry_system_variable_metadata: g, sensor_variable_metadata: {} } });
    expect(cleanLemnaTec(withGantry(noTime), { sensor: 'stereoTop', clowderUrl: CLOWDER })).toMatchObject({ kind: 'not-cleanable', reason: 'no_time' });
    expect(cleanLemnaTec(withGantry({ ...noTime, Timestamp: '2017-05-13 12:29:21' }), { sensor: 'stereoTop', clowderUrl: CLOWDER })).toMatchObject({ kind: 'not-cleanable', reason: 'bad_time' });
  });

  it('gantry variable metadata: key variants, the output subset, the scan direction default, an unparsed script', () => {
    const r = cleanLemnaTec({
      lemnatec_measurement_metadata: {
        gantry_system_variable_metadata: {
          Timestamp: '1/2/2018 7:05:09', 'Position x [m]': '3', 'Position y [m]': 0, 'Position z [m]': '1', 'Velocity x [m/s]': '0.1',
          'Camnera box light 1 is on': 'True', 'PLC control not available': 'True', 'Script path on local disk': 'D:/scripts/run.txt', unknown: 1,
        },
        sensor_variable_metadata: { 'current setting AutoFocus': 'On', ignoredKey: 'x' },
      },
    }, { sensor: 'flirIrCamera', clowderUrl: CLOWDER });
    if (r.kind !== 'cleaned') throw new Error(r.detail);
    // Only the listed fields are kept; the default direction is "True" only for a numeric y of 0 (as the Python compared).
    expect(r.content['gantry_variable_metadata']).toEqual({
      datetime: '2018-01-02T07:05:09-07:00', date: '2018-01-02', position_m: { x: '3', y: 0, z: '1' }, scan_direction_is_positive: 'True',
      script_path_on_disk: 'D:/scripts/run.txt', error: 'True',
    });
    expect(r.content['sensor_variable_metadata']).toEqual({ autofocus: 'On' });
    expect(r.notes).toContain('script_name_unparsed');
  });
});

describe('arizonaTime (US/Arizona, no daylight saving)', () => {
  it('localises summer and winter wall times to -07:00 and rejects impossible dates', () => {
    expect(arizonaTime('07/01/2017 00:00:54')).toEqual({ datetime: '2017-07-01T00:00:54-07:00', date: '2017-07-01' });
    expect(arizonaTime('12/31/2016 23:59:59')).toEqual({ datetime: '2016-12-31T23:59:59-07:00', date: '2016-12-31' });
    expect(arizonaTime('02/30/2017 10:00:00')).toBeUndefined();
    expect(arizonaTime('07/01/2017 24:00:00')).toBeUndefined();
    expect(arizonaTime(1498892454)).toBeUndefined();
  });
});

describe('utmToLatLon (zone 12 N)', () => {
  /** The forward projection (Snyder's series): an independent check of the inverse. */
  function forward(latDeg: number, lonDeg: number): [number, number] {
    const a = 6378137;
    const e2 = 0.00669438;
    const ep2 = e2 / (1 - e2);
    const k0 = 0.9996;
    const lat = (latDeg * Math.PI) / 180;
    const n = a / Math.sqrt(1 - e2 * Math.sin(lat) ** 2);
    const t = Math.tan(lat) ** 2;
    const c = ep2 * Math.cos(lat) ** 2;
    const A = Math.cos(lat) * (((lonDeg + 111) * Math.PI) / 180);
    const m = a * ((1 - e2 / 4 - (3 * e2 ** 2) / 64 - (5 * e2 ** 3) / 256) * lat - ((3 * e2) / 8 + (3 * e2 ** 2) / 32 + (45 * e2 ** 3) / 1024) * Math.sin(2 * lat)
      + ((15 * e2 ** 2) / 256 + (45 * e2 ** 3) / 1024) * Math.sin(4 * lat) - ((35 * e2 ** 3) / 3072) * Math.sin(6 * lat));
    const x = k0 * n * (A + ((1 - t + c) * A ** 3) / 6 + ((5 - 18 * t + t * t + 72 * c - 58 * ep2) * A ** 5) / 120) + 500000;
    const y = k0 * (m + n * Math.tan(lat) * (A ** 2 / 2 + ((5 - t + 9 * c + 4 * c * c) * A ** 4) / 24 + ((61 - 58 * t + t * t + 600 * c - 330 * ep2) * A ** 6) / 720));
    return [x, y];
  }

  it('inverts the forward projection to the millimetre over the field', () => {
    for (const [e, n] of [[409012.2032, 3659974.971], [409000, 3660200], [408980, 3659800]] as const) {
      const [lat, lon] = utmToLatLon(e, n);
      const [x, y] = forward(lat, lon);
      expect(Math.abs(x - e)).toBeLessThan(0.001);
      expect(Math.abs(y - n)).toBeLessThan(0.001);
    }
    // The gantry's origin (scanalyzer_to_mac(0, 0)) is the field's south-east corner terrautils named.
    const [lat, lon] = utmToLatLon(409012.2032, 3659974.971);
    expect(Math.abs(lat - 33.07451869)).toBeLessThan(0.0002);
    expect(Math.abs(lon - -111.97477775)).toBeLessThan(0.0002);
    expect(centroid([1, 3, 10, 20])).toEqual([2, 15]);
  });
});

describe('BETYdb records (terrautils get_experiment, get_sites with a date and a point)', () => {
  const exps: BetyExperiment[] = [
    { id: 1, name: 'MAC Season 4: Sorghum', start_date: '2017-04-13', end_date: '2017-09-21', view_url: 'u1' },
    { id: 2, name: 'MAC Season 3: Wheat', start_date: '2017-01-01', end_date: '2017-04-01', view_url: 'u2' },
  ];
  it('experiments running on the date, bounds included', () => {
    expect(experimentMetadata(exps, '2017-04-13').map((e) => e.name)).toEqual(['MAC Season 4: Sorghum']);
    expect(experimentMetadata(exps, '2017-04-01').map((e) => e.url)).toEqual(['u2']);
    expect(experimentMetadata(exps, '2018-01-01')).toEqual([]);
  });
  it('sites of running experiments, Season 4 half plots out, one entry per site, the note last', () => {
    const sites: BetySite[] = [
      { id: 10, sitename: 'MAC Field Scanner Season 4 Range 2 Column 3', view_url: 's10', experiments: [{ experiment: { id: 1, name: 'MAC Season 4: Sorghum' } }] },
      { id: 11, sitename: 'MAC Field Scanner Season 4 Range 2 Column 3 W', experiments: [{ experiment: { id: 1, name: 'MAC Season 4: Sorghum' } }] },
      { id: 12, sitename: 'MAC Field Scanner Season 3 Range 2 Column 3', experiments: [{ experiment: { id: 2, name: 'MAC Season 3: Wheat' } }] },
    ];
    const found = sitesOnDate(exps, sites, '2017-06-01');
    expect(found.map((s) => s.id)).toEqual([10]);
    expect(siteMetadata([found, found])).toEqual([{ sitename: 'MAC Field Scanner Season 4 Range 2 Column 3', url: 's10' }, 'sitename is the plot that contains the image centroid']);
    expect(siteMetadata([[], []])).toEqual([]);
  });
});
