/**
 * Camera labels of the Danforth era (`VIS_SV_90_z1_h1_g0_e82`): image type,
 * view, angle (side views only), zoom z, lifter height h, gain g, exposure e.
 * The per-image fields are the ones the original uploader attached
 * (PlantcvClowderUploader). A label that does not parse is not an error: the
 * image is sent with the fields it has and a warning is counted.
 */
export interface CameraFields {
  camera_type: 'visible/RGB' | 'near-infrared';
  perspective: 'side-view' | 'top-view';
  rotation_angle: number;
  zoom: number;
  imager_stage_vertical_position: number;
  camera_gain: number;
  camera_exposure: number;
}

const LABEL = /^(VIS|NIR)_(SV|TV)(?:_(\d{1,3}))?_z(\d+)_h(\d+)_g(\d+)_e(\d+)$/i;

export function parseCameraLabel(label: string): CameraFields | null {
  const m = LABEL.exec(label);
  if (!m) return null;
  const sv = m[2]!.toUpperCase() === 'SV';
  // Side views carry an angle, top views none.
  if (sv !== (m[3] !== undefined)) return null;
  return {
    camera_type: m[1]!.toUpperCase() === 'VIS' ? 'visible/RGB' : 'near-infrared',
    perspective: sv ? 'side-view' : 'top-view',
    rotation_angle: sv ? Number(m[3]) : 0,
    // The uploader's zoom formula: z1 → 1.0.
    zoom: 0.0008335 * Number(m[4]) + 0.9991665,
    imager_stage_vertical_position: Number(m[5]),
    camera_gain: Number(m[6]),
    camera_exposure: Number(m[7]),
  };
}

/** A camera label as a file-name component: anything but letters, digits, `_` and `-` becomes `-`. */
export function safeLabel(label: string): string {
  const s = label.replace(/[^A-Za-z0-9_-]/g, '-');
  return s.length > 0 ? s.slice(0, 120) : 'unlabelled';
}
