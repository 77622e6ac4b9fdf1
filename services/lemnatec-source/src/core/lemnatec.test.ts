import { advance, forgetBefore, overlapSince, START } from './cursor.js';
import { decodeBarcode } from './barcode.js';
import { parseCameraLabel } from './camera.js';
import { snapshotMetadata, type SnapshotRow, type TileRow } from './metadata.js';
import { datasetNameOf, imageFileName, snapshotFolder, snapshotTimeName } from './naming.js';
import { pixelLayout } from './pixels.js';

const tables = { species: { Fp: 'Sorghum bicolor' }, genotypes: { Fp001: 'BTx642' }, treatments: { AB: '80%' } };
const snap: SnapshotRow = { id: 7, idTag: 'Fp001AB006772', carTag: 'c1', measurementLabel: 'Bellwether', timeStamp: new Date('2026-05-01T10:00:00.05Z'), weightBefore: 1, weightAfter: 2, waterAmount: -1, completed: true, creator: null, comment: null };
const tile = (label: string, oid: number): TileRow => ({ tileId: oid, tiledImageId: oid, cameraLabel: label, rawImageOid: oid, dataformat: 1, width: 4, height: 2, frame: 0, rotateFlipType: 0, blobPath: null });

describe('lemnatec core', () => {
  it('parses Danforth camera labels, and refuses others', () => {
    expect(parseCameraLabel('VIS_SV_90_z1_h1_g0_e82')).toEqual({ camera_type: 'visible/RGB', perspective: 'side-view', rotation_angle: 90, zoom: 1, imager_stage_vertical_position: 1, camera_gain: 0, camera_exposure: 82 });
    expect(parseCameraLabel('NIR_TV_z1_h1_g0_e35')).toMatchObject({ camera_type: 'near-infrared', perspective: 'top-view', rotation_angle: 0 });
    expect(parseCameraLabel('vis_sv0')).toBeNull();
    expect(parseCameraLabel('VIS_TV_90_z1_h1_g0_e82')).toBeNull();
  });

  it('decodes barcodes by fixed slices, naming what does not decode', () => {
    expect(decodeBarcode('Fp001AB006772', tables)).toEqual({ species: 'Sorghum bicolor', genotype: 'BTx642', treatment: '80%', sample_id: '006772', missing: [] });
    expect(decodeBarcode('DAAA000613', tables)).toEqual({ sample_id: '613', missing: ['species', 'genotype', 'treatment'] });
    expect(decodeBarcode(null, tables).missing).toEqual(['species', 'genotype', 'treatment', 'sample_id']);
  });

  it('names datasets as the original, disambiguated, and images by camera label and oid', () => {
    const t = snapshotTimeName(snap.timeStamp);
    expect(t).toBe('2026-05-01__10-00-00-050');
    expect(datasetNameOf(snapshotFolder('ddpscIndoorSuite', t, 1))).toBe('ddpscIndoorSuite - 2026-05-01__10-00-00-050');
    expect(snapshotFolder('ddpscIndoorSuite', t, 2)).toBe('ddpscIndoorSuite/2026-05-01/2026-05-01__10-00-00-050_2');
    expect(imageFileName('VIS_SV_90_z1_h1_g0_e82', 1234, 0)).toBe('VIS_SV_90_z1_h1_g0_e82_1234.png');
    expect(imageFileName('../evil label', 5, 2)).toBe('---evil-label_5_f2.png');
  });

  it('builds metadata with what decodes and warns about the rest', () => {
    const md = snapshotMetadata({ title: 'B', sample: { barcode: tables } }, 'LemnaTest', { ...snap, idTag: 'ZZ' }, [tile('VIS_SV_0_z1_h1_g0_e82', 1), tile('odd', 2)]);
    expect(md.warnings.map((w) => w.kind).sort()).toEqual(['undecodable_barcode', 'unknown_camera_label']);
    expect(md.content).toMatchObject({ title: 'B', snapshot_id: 7, plant_barcode: 'ZZ', barcode_undecoded: ['species', 'genotype', 'treatment', 'sample_id'] });
    const images = md.content['images'] as Record<string, Record<string, unknown>>;
    expect(images['VIS_SV_0_z1_h1_g0_e82_1.png']).toMatchObject({ camera_type: 'visible/RGB', rotation_angle: 0, image_id: 1 });
    expect(images['odd_2.png']).toMatchObject({ camera_label: 'odd', camera_label_unparsed: true });
  });

  it('tells 8-bit, 16-bit and corrupt raw blocks apart by size', () => {
    expect(pixelLayout(8, 4, 2)).toEqual({ ok: true, bits: 8 });
    expect(pixelLayout(16, 4, 2)).toEqual({ ok: true, bits: 16 });
    expect(pixelLayout(9, 4, 2)).toMatchObject({ ok: false, reason: 'BLOB_SIZE_MISMATCH' });
  });

  it('moves the cursor forward only and keeps an overlap window', () => {
    const c = advance(START, [{ id: 5, timeMs: 10_000, completed: true }, { id: 3, timeMs: 20_000, completed: false }]);
    expect(c).toEqual({ maxId: 5, maxTimeMs: 20_000 });
    // A clock an hour behind: a new id, an old time; the time mark stays.
    expect(advance(c, [{ id: 6, timeMs: 20_000 - 3_600_000, completed: true }])).toEqual({ maxId: 6, maxTimeMs: 20_000 });
    expect(overlapSince(c, 5_000)).toBe(15_000);
    expect(forgetBefore(c, 5_000)).toBe(10_000);
  });
});
