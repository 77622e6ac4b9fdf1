/**
 * terrautils' `lemnatec.clean`, the conversion TERRA's uploader applied to a
 * gantry `metadata.json` before attaching it to the dataset: our reading of
 * terraref/terrautils at tag 1.1.0 (commit df17dcb, the version whose fixed
 * metadata lived in Clowder), written again in TypeScript. Pure: what the
 * Python fetched over the network (the sensor's fixed metadata from
 * Clowder, experiments and sites from BETYdb) comes in as arguments, or is
 * left out when it is not available.
 *
 * Where the Python raised (and the uploader then attached nothing), this
 * port either leaves the one part out and says so in `notes`, or answers
 * `not-cleanable` when the record as a whole cannot be built (no time, a
 * sensor terrautils had no converter for); the caller then attaches the
 * generic clean instead (decision 0027).
 */
import { boundsToGeojson, centroid, gpsBounds, MissingGeometry, pyFloat } from './gantry-spatial.js';

type Obj = Record<string, unknown>;

/** A key of the original → where its value goes in the cleaned record (a path of keys). */
type KeyMap = Readonly<Record<string, readonly string[]>>;

/**
 * `_standardize_gantry_system_variable_metadata`'s map: every key LemnaTec
 * wrote over the years. The Python also listed defaults (scan direction
 * "False", a FAT test label) but only applied them to required fields, and
 * none was required, so they never applied.
 */
const GANTRY_VARIABLE: KeyMap = {
  time: ['time'], Time: ['time'], timestamp: ['time'], Timestamp: ['time'],
  'position x [m]': ['position_m', 'x'], 'Position x [m]': ['position_m', 'x'],
  'position y [m]': ['position_m', 'y'], 'Position y [m]': ['position_m', 'y'],
  'position z [m]': ['position_m', 'z'], 'Position z [m]': ['position_m', 'z'],
  'speed x [m/s]': ['speed_m/s', 'x'], 'speed y [m/s]': ['speed_m/s', 'y'], 'speed z [m/s]': ['speed_m/s', 'z'],
  'Velocity x [m/s]': ['velocity_m/s', 'x'], 'Velocity y [m/s]': ['velocity_m/s', 'y'], 'Velocity z [m/s]': ['velocity_m/s', 'z'],
  'scanDistance [m]': ['scan_distance_m'], 'scanDistanceInM [m]': ['scan_distance_m'],
  'scanSpeed [m/s]': ['scan_speed_m/s'], 'scanSpeedInMPerS [m/s]': ['scan_speed_m/s'],
  scanMode: ['scan_mode'],
  ...lights(),
  'Script copy path on FTP server': ['script_path_ftp_server'],
  'Script path on local disk': ['script_path_on_disk'],
  'sensor setting file path': ['sensor_setting_file_path'],
  scanIsInPositiveDirection: ['scan_direction_is_positive'], scanDirectionIsPositive: ['scan_direction_is_positive'],
  'PLC control not available': ['error'],
  // co2Sensor
  'x end pos [m]': ['end_position_m', 'x'], 'x set velocity [m/s]': ['velocity_m/s', 'x'],
  'x set acceleration [m/s^2]': ['acceleration_m/s^2', 'x'], 'x set deceleration [m/s^2]': ['deceleration_m/s^2', 'x'],
  // cropCircle
  'y end pos [m]': ['end_position_m', 'y'], 'Y end pos [m]': ['end_position_m', 'y'],
  'y set velocity [m/s]': ['velocity_m/s', 'y'], 'Y set velocity [m/s]': ['velocity_m/s', 'y'],
  'y set acceleration [m/s^2]': ['acceleration_m/s^2', 'y'], 'Y set acceleration [m/s^2]': ['acceleration_m/s^2', 'y'],
  'y set deceleration [m/s^2]': ['deceleration_m/s^2', 'y'], 'y set decceleration [m/s^2]': ['deceleration_m/s^2', 'y'],
  'Y set decceleration [m/s^2]': ['deceleration_m/s^2', 'y'],
  // Factory acceptance tests
  ...Object.fromEntries([
    'Measurement purpose [FAT test]', 'Measurement target [Test object sandbox]',
    'fat measurement [comparison color sensors to hyperspec above green target]', 'repeats [1 of 1]', 'repeats [1 of 3]',
    'repeats [2 of 3]', 'repeats [3 of 3]', 'fat measurement [test chart (resting)]', 'fat measurement [black body (moving)]',
    'fat measurement [black body (resting)]', 'only small set of meta data available', 'Only small set of meta data available',
    'fat measurement [PS2 on fluo target]', 'fat measurement [3d scan of test target (different directions and different speeds)]',
  ].map((k) => [k, ['ignored']])),
};

function lights(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  // "Camnera" is LemnaTec's own spelling in some years.
  for (const n of [1, 2, 3, 4]) for (const cam of ['camera', 'Camnera']) out[`${cam} box light ${n} is on`] = [`camera_box_light_${n}_on`];
  return out;
}

/** The gantry fields the cleaned record keeps ("limit output to the following fields for now"). */
const GANTRY_OUTPUT = ['datetime', 'date', 'position_m', 'scan_direction_is_positive', 'script_path_on_disk', 'script_name', 'fullfield_eligible', 'error'];

const leftRight = (pairs: Record<string, string>): Record<string, string[]> => {
  const out: Record<string, string[]> = {};
  for (const [orig, std] of Object.entries(pairs)) {
    for (const side of ['left', 'right']) {
      out[`${orig} - ${side}`] = [std, side];
      out[`${orig.charAt(0).toLowerCase()}${orig.slice(1)} - ${side}`] = [std, side];
    }
  }
  return out;
};

const VNIR_SWIR: KeyMap = {
  'current setting frameperiod': ['frame_period'], 'current setting userotatingmirror': ['use_rotating_mirror'],
  'current setting useexternaltrigger': ['use_external_trigger'], 'current setting exposure': ['exposure'],
  'current setting createdatacube': ['create_data_cube'], 'current setting speed': ['speed'],
  'current setting constmirrorpos': ['const_mirror_position'], 'current setting startpos': ['start_position'],
  'current setting stoppos': ['stop_position'],
};

/**
 * Per sensor, the map of its `sensor_variable_metadata` (terrautils' `_<sensor>_standardize`); empty: no
 * variable metadata kept. Only these sensors could be cleaned: for any other (and for parSensor and
 * EnvironmentLogger, whose converters terrautils 1.1.0 called but did not define) the Python raised.
 */
const SENSOR_VARIABLE: Readonly<Record<string, KeyMap>> = {
  co2Sensor: {},
  ndviSensor: {},
  priSensor: {},
  cropCircle: { 'current setting rotate flip type': ['rotate_flip_type'], 'current setting crosshairs': ['crosshairs'] },
  flirIrCamera: {
    'current setting AutoFocus': ['autofocus'], 'current setting Manual focal length [cm]': ['manual_focal_length_cm'],
    'current setting Manual focal length': ['manual_focal_length_cm'], 'current setting ImageAdjustMode': ['image_adjust_mode'],
    'camera info': ['camera_info'], 'focus distance [m]': ['focus_distance_m'], 'lens temperature [K]': ['lens_temperature_K'],
    'shutter temperature [K]': ['shutter_temperature_K'], 'front temperature [K]': ['front_temperature_K'],
  },
  ps2Top: {
    'current setting rotate flip type': ['rotate_flip_type'], 'current setting crosshairs': ['crosshairs'],
    'current setting exposure': ['exposure'], 'current setting gain': ['gain'], 'current setting gamma': ['gamma'],
    'current setting ledcurrent': ['led_current'],
  },
  stereoTop: {
    // Both capitalisations of the first word occur ("Rotate flip type - left", "rotate flip type - left").
    ...leftRight({ 'Rotate flip type': 'rotate_flip_type', 'Crosshairs': 'crosshairs' }),
    ...Object.fromEntries(['exposure', 'autoexposure', 'gain', 'autogain', 'gamma', 'rwhitebalanceratio', 'bwhitebalanceratio']
      .flatMap((k) => ['left', 'right'].map((side) => [`${k} - ${side}`, [k, side]]))),
    'height left image [pixel]': ['height_image_pixels', 'left'], 'width left image [pixel]': ['width_image_pixels', 'left'],
    'image format left image': ['image_format', 'left'], 'height right image [pixel]': ['height_image_pixels', 'right'],
    'width right image [pixel]': ['width_image_pixels', 'right'], 'image format right image': ['image_format', 'right'],
  },
  SWIR: VNIR_SWIR,
  VNIR: VNIR_SWIR,
  scanner3DTop: {
    'current setting Exposure [microS]': ['exposure_microS'], 'current setting Exposure': ['exposure_microS'],
    'current setting Calculate 3D files': ['calculate_3d_files'], 'current setting Laser detection threshold': ['laser_detection_threshold'],
    'current setting Scanlines per output file': ['scanlines_per_output_file'],
    'current setting Scan direction (automatically set at runtime)': ['scan_direction'],
    'current setting Scan distance (automatically set at runtime) [mm]': ['scan_distance_mm'],
    'current setting Scan speed (automatically set at runtime) [microMeter/s]': ['scan_speed_microMeter/s'],
    'current setting Scan speed (automatically set at runtime)': ['scan_speed_microMeter/s'],
    'current setting Scan distance (automatically set at runtime)': ['scan_distance_mm'],
  },
};

/** The gantry platform's name in terrautils' sensor table (its fixed metadata is the gantry's). */
export const SCANALYZER = 'scanalyzer';

/** What this port leaves out of a record, and why (each a telemetry reason; never a path). */
export type CleanNote =
  | 'gantry_fixed_metadata_unconfigured'
  | 'sensor_fixed_metadata_unconfigured'
  | 'sensor_fixed_metadata_absent'
  | 'spatial_inputs_missing'
  | 'script_name_unparsed';

export interface CleanInputs {
  /** The sensor, from the site's naming rules (TERRA took it from the dataset name: `<sensor> - <timestamp>`). */
  sensor: string;
  /** Clowder's base URL (without /api): the fixed metadata links point there. */
  clowderUrl: string;
  /** The gantry's (`scanalyzer`) fixed-metadata dataset id; absent: not configured. */
  gantryFixedDatasetId?: string;
  /** The sensor's fixed-metadata dataset id; absent: not configured. */
  sensorFixedDatasetId?: string;
  /** The content of the sensor's fixed metadata (first record of that dataset); absent: unknown. */
  sensorFixed?: Obj;
}

export type LemnaTecClean =
  | {
      kind: 'cleaned';
      /** The record without `experiment_metadata` and `site_metadata` (BETYdb's answers are added by the caller). */
      content: Obj;
      /** YYYY-MM-DD in US/Arizona: the date experiments and sites are looked up for. */
      date: string;
      /** Image centroids [lat, lon] (one per label), where sites are looked up; empty without spatial metadata. */
      centroids: [number, number][];
      notes: CleanNote[];
    }
  | { kind: 'not-cleanable'; reason: 'no_sensor_converter' | 'no_time' | 'bad_time'; detail: string };

/**
 * lemnatec.clean without its network: gantry_variable_metadata,
 * gantry_fixed_metadata and sensor_fixed_metadata (links to the fixed
 * metadata in Clowder), sensor_variable_metadata, spatial_metadata and
 * `terraref_cleaned_metadata: true`. `metadata` has already been through
 * clean_json_keys, as in terrautils 1.2 and in this ingest since decision 0027.
 */
export function cleanLemnaTec(metadata: Obj, inputs: CleanInputs): LemnaTecClean {
  const { sensor } = inputs;
  const lem = obj(metadata['lemnatec_measurement_metadata']) ?? {};
  const sensorMap = Object.hasOwn(SENSOR_VARIABLE, sensor) ? SENSOR_VARIABLE[sensor] : undefined;
  if (!sensorMap) return { kind: 'not-cleanable', reason: 'no_sensor_converter', detail: `terrautils 1.1.0 has no converter for sensor ${sensor}` };
  const notes: CleanNote[] = [];
  const gantry = gantryVariable(obj(lem['gantry_system_variable_metadata']) ?? {}, notes);
  if (gantry.kind !== 'ok') return gantry;
  const fixed = inputs.sensorFixed ?? {};
  const content: Obj = { gantry_variable_metadata: gantry.value };
  if (inputs.gantryFixedDatasetId) content['gantry_fixed_metadata'] = fixedLink(inputs.clowderUrl, inputs.gantryFixedDatasetId);
  else notes.push('gantry_fixed_metadata_unconfigured');
  if (inputs.sensorFixedDatasetId) content['sensor_fixed_metadata'] = fixedLink(inputs.clowderUrl, inputs.sensorFixedDatasetId);
  else notes.push('sensor_fixed_metadata_unconfigured');
  if (inputs.sensorFixedDatasetId && !inputs.sensorFixed) notes.push('sensor_fixed_metadata_absent');
  const variable = standardize(obj(lem['sensor_variable_metadata']) ?? {}, sensorMap);
  if (sensor === 'scanner3DTop') variable['point_cloud_origin_m'] = pointCloudOrigin(gantry.value, fixed);
  content['sensor_variable_metadata'] = variable;
  content['terraref_cleaned_metadata'] = true;
  const centroids: [number, number][] = [];
  if (inputs.sensorFixed) {
    try {
      const spatial: Obj = {};
      for (const [label, b] of Object.entries(gpsBounds(sensor, gantry.value, fixed, variable))) {
        spatial[label] = { bounding_box: boundsToGeojson(b), centroid: centroid(b) };
        centroids.push(centroid(b));
      }
      content['spatial_metadata'] = spatial;
    } catch (err) {
      if (!(err instanceof MissingGeometry)) throw err;
      notes.push('spatial_inputs_missing');
    }
  }
  return { kind: 'cleaned', content, date: gantry.value['date'] as string, centroids, notes };
}

function fixedLink(clowderUrl: string, datasetId: string): { url: string } {
  return { url: `${clowderUrl.replace(/\/+$/, '')}/api/datasets/${datasetId}/metadata.jsonld` };
}

/** _standardize_gantry_system_variable_metadata. */
function gantryVariable(orig: Obj, notes: CleanNote[]): { kind: 'ok'; value: Obj } | Extract<LemnaTecClean, { kind: 'not-cleanable' }> {
  const p = standardize(orig, GANTRY_VARIABLE);
  // The default direction: a scan starting at y = 0 goes the positive way. The Python compared the value
  // with the number 0; the files hold strings, so in practice the default was always "False".
  if (!('scan_direction_is_positive' in p) && 'position_m' in p) p['scan_direction_is_positive'] = obj(p['position_m'])?.['y'] === 0 ? 'True' : 'False';
  // terrautils read `date` unconditionally (a KeyError without a time): the record cannot be built without it.
  if (!('time' in p)) return { kind: 'not-cleanable', reason: 'no_time', detail: 'gantry_system_variable_metadata has no time' };
  const local = arizonaTime(p['time']);
  if (!local) return { kind: 'not-cleanable', reason: 'bad_time', detail: `time ${JSON.stringify(p['time']).slice(0, 60)} is not MM/DD/YYYY HH:MM:SS` };
  p['datetime'] = local.datetime;
  p['date'] = local.date;
  if (typeof p['script_path_on_disk'] === 'string') {
    // e.g. C:\LemnaTec\StoredScripts\3D_Scan_Field_SouthStart_033MperS.cs → 3d_scan_field_southstart_033mpers
    const m = /^.*\\(.*?)\.cs/.exec(p['script_path_on_disk']);
    if (m) {
      p['script_name'] = m[1]!.toLowerCase().replaceAll(' ', '_');
      // The Python looked the script up in scan_programs.csv but tested the entry with isinstance(…, list),
      // which an entry (a dict) never is: every named script was "True".
      p['fullfield_eligible'] = 'True';
    } else {
      // The Python raised here (no match); we keep the rest.
      notes.push('script_name_unparsed');
    }
  }
  return { kind: 'ok', value: Object.fromEntries(GANTRY_OUTPUT.filter((k) => k in p).map((k) => [k, p[k]])) };
}

/** _standardize_with_validation: mapped keys moved to their place (the last of several writing one place wins); unmapped keys dropped. */
function standardize(orig: Obj, map: KeyMap): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(orig)) {
    const path = Object.hasOwn(map, k) ? map[k] : undefined;
    if (!path) continue;
    // _set_nested_value: intermediate objects are made as needed (e.g. position_m for x, y, z).
    let at = out;
    for (const step of path.slice(0, -1)) {
      if (!obj(at[step])) at[step] = {};
      at = at[step] as Obj;
    }
    at[path[path.length - 1]!] = v;
  }
  return out;
}

/**
 * _calculatePointCloudOrigin (terraref/reference-data#44): the origin of the
 * 3D scanner's point clouds, east and west, in gantry coordinates; empty
 * sides when the position or the scanner's place in the camera box is unknown.
 */
function pointCloudOrigin(gantry: Obj, fixed: Obj): { east: Obj; west: Obj } {
  const origin = { east: {} as Obj, west: {} as Obj };
  const pos = obj(gantry['position_m']);
  const e = obj(fixed['scanner_east_location_in_camera_box_m']);
  const w = obj(fixed['scanner_west_location_in_camera_box_m']);
  if (!pos || !('scan_direction_is_positive' in gantry) || !w || !e) return origin;
  try {
    const xv = pyFloat(pos['x']) + 0.082;
    const zv = pyFloat(pos['z']) - 3.445;
    const yv = pyFloat(pos['y']) + (gantry['scan_direction_is_positive'] === 'True' ? 3.45 : 25.711);
    const east = { x: xv + pyFloat(e['x']), y: yv + pyFloat(e['y']) * 2, z: zv + pyFloat(e['z']) };
    const west = { x: xv + pyFloat(w['x']), y: yv + pyFloat(w['y']) * 2, z: zv + pyFloat(w['z']) };
    return { east, west };
  } catch (err) {
    if (err instanceof MissingGeometry) return origin;
    throw err;
  }
}

const ARIZONA = 'US/Arizona';
const offsetFormat = new Intl.DateTimeFormat('en-US', { timeZone: ARIZONA, timeZoneName: 'longOffset' });

/**
 * _standardize_time: the gantry's local wall time (`%m/%d/%Y %H:%M:%S`)
 * localised to US/Arizona, as ISO 8601 with its offset, and its date.
 */
export function arizonaTime(v: unknown): { datetime: string; date: string } | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{1,2}):(\d{1,2})$/.exec(v);
  if (!m) return undefined;
  const [mo, d, y, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(wall);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  // The zone's offset at that moment (Arizona keeps -07:00 all year, but the zone database says so, not us).
  const offsetMin = zoneOffsetMinutes(wall - zoneOffsetMinutes(wall) * 60_000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${pad(y, 4)}-${pad(mo)}-${pad(d)}`;
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  return { datetime: `${date}T${pad(h)}:${pad(mi)}:${pad(s)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`, date };
}

function zoneOffsetMinutes(utcMs: number): number {
  const name = offsetFormat.formatToParts(new Date(utcMs)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

function obj(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}
