import { barcodeTables, decodeBarcode, type DecodedBarcode } from './barcode.js';
import { parseCameraLabel, type CameraFields } from './camera.js';
import { imageFileName } from './naming.js';

export interface SnapshotRow {
  id: number;
  idTag: string | null;
  carTag: string | null;
  measurementLabel: string | null;
  timeStamp: Date;
  weightBefore: number | null;
  weightAfter: number | null;
  waterAmount: number | null;
  completed: boolean;
  creator: string | null;
  comment: string | null;
}

export interface TileRow {
  tileId: number;
  tiledImageId: number;
  cameraLabel: string;
  rawImageOid: number;
  dataformat: number | null;
  width: number;
  height: number;
  frame: number;
  rotateFlipType: number;
  /** image_file_table.path for the oid, when the database has it. */
  blobPath: string | null;
}

export interface ImageEntry {
  file: string;
  tile: TileRow;
  camera: CameraFields | null;
}

export interface SnapshotMetadata {
  /** metadata.json's content. */
  content: Record<string, unknown>;
  images: ImageEntry[];
  /** Warnings to count (bounded kinds) and log. */
  warnings: Array<{ kind: 'unknown_camera_label' | 'undecodable_barcode'; detail: string }>;
}

/**
 * A snapshot's metadata.json: the experiment block from the site file, the
 * snapshot's own fields, the barcode decoded, and one entry per image with
 * its camera fields (what the original put on each file). Nothing is left
 * out for a label or barcode that does not decode: the fields it has go in,
 * and a warning is returned.
 */
export function snapshotMetadata(experiment: Readonly<Record<string, unknown>>, database: string, s: SnapshotRow, tiles: readonly TileRow[]): SnapshotMetadata {
  const warnings: SnapshotMetadata['warnings'] = [];
  const decoded: DecodedBarcode = decodeBarcode(s.idTag, barcodeTables(experiment));
  if (decoded.missing.length > 0) warnings.push({ kind: 'undecodable_barcode', detail: `${JSON.stringify(s.idTag)}: ${decoded.missing.join(', ')} not decoded` });
  const images: ImageEntry[] = tiles.map((tile) => {
    const camera = parseCameraLabel(tile.cameraLabel);
    if (!camera) warnings.push({ kind: 'unknown_camera_label', detail: JSON.stringify(tile.cameraLabel) });
    return { file: imageFileName(tile.cameraLabel, tile.rawImageOid, tile.frame), tile, camera };
  });
  const { missing, ...barcode } = decoded;
  const imagedate = s.timeStamp.toISOString();
  const content: Record<string, unknown> = {
    ...experiment,
    snapshot_id: s.id,
    database,
    experiment: s.measurementLabel,
    plant_barcode: s.idTag,
    car_tag: s.carTag,
    imagedate,
    weight_before: s.weightBefore,
    weight_after: s.weightAfter,
    water_amount: s.waterAmount,
    creator: s.creator,
    comment: s.comment,
    ...barcode,
    ...(missing.length > 0 ? { barcode_undecoded: missing } : {}),
    images: Object.fromEntries(images.map((i) => [i.file, {
      snapshot_id: s.id,
      plant_barcode: s.idTag,
      camera_label: i.tile.cameraLabel,
      image_id: i.tile.rawImageOid,
      frame: i.tile.frame,
      width: i.tile.width,
      height: i.tile.height,
      dataformat: i.tile.dataformat,
      rotate_flip_type: i.tile.rotateFlipType,
      imagedate,
      ...(i.camera ?? { camera_label_unparsed: true }),
    }])),
  };
  return { content, images, warnings };
}
