/**
 * Where a gantry sensor's image lies on the ground: our reading of
 * terrautils' spatial.py (calculate_gps_bounds, geom_from_metadata,
 * _get_bounding_box_with_formula, scanalyzer_to_mac, calculate_centroid,
 * tuples_to_geojson) at tag 1.1.0 (df17dcb), written again in TypeScript.
 * A bounds tuple is `[lat min, lat max, lon min, lon max]`, as there.
 */

export type Bounds = readonly [latMin: number, latMax: number, lonMin: number, lonMax: number];

type Obj = Record<string, unknown>;

/** Gantry position and the sensor's fixed geometry; undefined where the metadata does not say. */
interface Geometry {
  gantry: [unknown, unknown, unknown];
  cambox: [unknown, unknown, unknown];
  fov: [unknown, unknown];
}

/**
 * geom_from_metadata: the gantry position from the cleaned variable
 * metadata, the sensor's place in the camera box and its field of view from
 * its fixed metadata (`location_in_camera_box_m` first, else the 3D
 * scanner's west or east side; field-of-view fields later in the list win).
 */
function geometry(gantryVariable: Obj, fixed: Obj, side: 'west' | 'east'): Geometry {
  const pos = obj(gantryVariable['position_m']);
  const box = obj(fixed['location_in_camera_box_m']);
  const scanner = obj(fixed[`scanner_${side}_location_in_camera_box_m`]);
  // A camera's place may leave z out (0); the 3D scanners' places must give it.
  const cambox: Geometry['cambox'] = box ? [box['x'], box['y'], 'z' in box ? box['z'] : 0]
    : scanner ? [scanner['x'], scanner['y'], scanner['z']] : [undefined, undefined, undefined];
  let fov: Geometry['fov'] = [undefined, undefined];
  for (const field of ['field_of_view_m', 'field_of_view_at_2m_m', 'field_of_view_degrees']) {
    const f = obj(fixed[field]);
    if (f) fov = ['x' in f ? f['x'] : fov[0], 'y' in f ? f['y'] : fov[1]];
  }
  return { gantry: [pos?.['x'], pos?.['y'], pos?.['z']], cambox, fov };
}

/** Python's float() of a metadata value (the files hold numbers as strings); anything else is a missing input. */
export function pyFloat(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v.trim()) : NaN;
  if (!Number.isFinite(n)) throw new MissingGeometry(`not a number: ${JSON.stringify(v)}`);
  return n;
}

/** An input the bounds need is absent (the Python raised here; we leave the spatial part out). */
export class MissingGeometry extends Error {}

/**
 * calculate_gps_bounds: one bounds tuple per label (stereoTop: left/right;
 * scanner3DTop: east/west; any other sensor: one, labelled with its name).
 * Throws MissingGeometry when the position or the fixed geometry is absent.
 */
export function gpsBounds(sensor: string, gantryVariable: Obj, fixed: Obj, sensorVariable: Obj): Record<string, Bounds> {
  const g = geometry(gantryVariable, fixed, 'west');
  const [gx, gy, gz] = g.gantry.map(pyFloat) as [number, number, number];
  const [cx, cy, cz] = g.cambox.map(pyFloat) as [number, number, number];
  const center: [number, number, number] = [gx + cx, gy + cy, gz + cz];
  const camHeight = center[2];
  if (sensor === 'stereoTop') {
    const slope = pyFloat(fixed['slope_estimation']);
    const railOffset = pyFloat(fixed['rail_height_offset']);
    const lensOffset = pyFloat(fixed['stereo_offsets_from_center']);
    // The expected canopy height (camera height × slope) is taken off the camera's height above the rail.
    const aboveCanopy = camHeight + railOffset - slope * camHeight;
    const fov: [number, number] = [pyFloat(g.fov[0]) * (aboveCanopy / 2), pyFloat(g.fov[1]) * (aboveCanopy / 2)];
    return {
      left: boundsOf([center[0] - lensOffset, center[1]], fov),
      right: boundsOf([center[0] + lensOffset, center[1]], fov),
    };
  }
  if (sensor === 'flirIrCamera') {
    const aboveCanopy = camHeight + pyFloat(fixed['rail_height_offset']);
    return { [sensor]: boundsOf(center, [pyFloat(g.fov[0]) * (aboveCanopy / 2), pyFloat(g.fov[1]) * (aboveCanopy / 2)]) };
  }
  if (sensor === 'scanner3DTop') {
    const e = geometry(gantryVariable, fixed, 'east');
    const [ex, ey] = e.cambox.map(pyFloat) as [number, number, number];
    // X and Y swap: the scan is rotated 90 degrees; its length is the scan distance.
    const fovX = g.fov[1] ? pyFloat(g.fov[1]) : 0;
    const scanDistance = pyFloat(sensorVariable['scan_distance_mm']) / 1000;
    const negative = Math.trunc(pyFloat(sensorVariable['scan_direction'])) === 0;
    // terrautils' constants, measured on the field (metres); the west scanner is the reference.
    const westY = negative ? -scanDistance / 2 - 4.363 : scanDistance / 2 - 4.23;
    const eastY = negative ? -scanDistance / 2 - 0.354 : scanDistance / 2 + 0.4;
    const west: [number, number] = [gx + cx + 0.082, gy + 2 * cy + westY];
    const east: [number, number] = [gx + ex + 0.082, gy + 2 * ey + eastY];
    return { east: boundsOf(east, [fovX, scanDistance]), west: boundsOf(west, [fovX, scanDistance]) };
  }
  const fov: [number, number] = [g.fov[0] ? pyFloat(g.fov[0]) : 0, g.fov[1] ? pyFloat(g.fov[1]) : 0];
  return { [sensor]: boundsOf(center, fov) };
}

/** _get_bounding_box_with_formula: the scanner-coordinate box → MAC UTM (linear fit) → lat/lon, with terrautils' fixed shift. */
function boundsOf(center: readonly [number, number, ...number[]], fov: readonly [number, number]): Bounds {
  const yW = center[1] + fov[1] / 2;
  const yE = center[1] - fov[1] / 2;
  const xN = center[0] + fov[0] / 2;
  const xS = center[0] - fov[0] / 2;
  const nw = utmToLatLon(...scannerToMac(xN, yW));
  const se = utmToLatLon(...scannerToMac(xS, yE));
  const LON_SHIFT = 0.000020308287;
  const LAT_SHIFT = 0.000015258894;
  return [se[0] - LAT_SHIFT, nw[0] - LAT_SHIFT, nw[1] + LON_SHIFT, se[1] + LON_SHIFT];
}

/** scanalyzer_to_mac: terrautils' linear transformation from gantry metres to MAC UTM easting/northing. */
function scannerToMac(x: number, y: number): [number, number] {
  return [409012.2032 + 0.009 * x - 0.9986 * y, 3659974.971 + 1.0002 * x + 0.0078 * y];
}

// UTM → WGS84 (the inverse transverse Mercator series, with the constants of the Python `utm` package
// terrautils used). The field is in zone 12, northern hemisphere: terrautils took the zone from the field's
// south-east corner (33.07451869, -111.97477775), which lies in zone 12S.
const K0 = 0.9996;
const E = 0.00669438;
const E_P2 = E / (1 - E);
const R = 6378137;
const M1 = 1 - E / 4 - (3 * E ** 2) / 64 - (5 * E ** 3) / 256;
const SQRT_1_E = Math.sqrt(1 - E);
const E1 = (1 - SQRT_1_E) / (1 + SQRT_1_E);
const P2 = (3 / 2) * E1 - (27 / 32) * E1 ** 3 + (269 / 512) * E1 ** 5;
const P3 = (21 / 16) * E1 ** 2 - (55 / 32) * E1 ** 4;
const P4 = (151 / 96) * E1 ** 3 - (417 / 128) * E1 ** 5;
const P5 = (1097 / 512) * E1 ** 4;
const ZONE_12_CENTRAL_LON = -111;

/** [lat, lon] in degrees of a zone-12 (northern) easting/northing. */
export function utmToLatLon(easting: number, northing: number): [number, number] {
  const x = easting - 500000;
  const mu = northing / K0 / (R * M1);
  const p = mu + P2 * Math.sin(2 * mu) + P3 * Math.sin(4 * mu) + P4 * Math.sin(6 * mu) + P5 * Math.sin(8 * mu);
  const sin = Math.sin(p);
  const cos = Math.cos(p);
  const tan = Math.tan(p);
  const t2 = tan * tan;
  const t4 = t2 * t2;
  const epSin = 1 - E * sin * sin;
  const n = R / Math.sqrt(epSin);
  const r = (1 - E) / epSin;
  const c = E_P2 * cos * cos;
  const d = x / (n * K0);
  const lat = p - (tan / r) * (d ** 2 / 2 - (d ** 4 / 24) * (5 + 3 * t2 + 10 * c - 4 * c * c - 9 * E_P2))
    + (d ** 6 / 720) * (61 + 90 * t2 + 298 * c + 45 * t4 - 252 * E_P2 - 3 * c * c);
  const lon = (d - (d ** 3 / 6) * (1 + 2 * t2 + c) + (d ** 5 / 120) * (5 - 2 * c + 28 * t2 - 3 * c * c + 8 * E_P2 + 24 * t4)) / cos;
  return [(lat * 180) / Math.PI, (lon * 180) / Math.PI + ZONE_12_CENTRAL_LON];
}

/** calculate_centroid: [lat, lon] of a bounds tuple's middle. */
export function centroid(b: Bounds): [number, number] {
  return [b[0] + (b[1] - b[0]) / 2, b[2] + (b[3] - b[2]) / 2];
}

/** tuples_to_geojson, as terrautils wrote it: four [lat, lon] corners NW, NE, SE, SW (not a closed GeoJSON ring). */
export function boundsToGeojson(b: Bounds): { type: 'Polygon'; coordinates: [number, number][] } {
  return { type: 'Polygon', coordinates: [[b[1], b[2]], [b[1], b[3]], [b[0], b[3]], [b[0], b[2]]] };
}

function obj(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}
