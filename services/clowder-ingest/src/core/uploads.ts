import type { DatasetFile, UploadedFile } from '@terra-transfer/clowder';

const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/**
 * Maps an uploadToDataset answer back to the paths sent, by file name as
 * TERRA did (the files of one dataset share a folder, so names are unique).
 * Returns null when the answer cannot be mapped with certainty: `{"id"}` for
 * several paths sent (Clowder skipped some silently) or unknown names; the
 * caller then asks listFiles.
 */
export function mapUploaded(sent: readonly string[], answer: readonly UploadedFile[]): Map<string, string> | null {
  if (answer.length === 1 && sent.length === 1 && answer[0]!.name === undefined) return new Map([[sent[0]!, answer[0]!.id]]);
  if (answer.length !== sent.length) return null;
  const byName = new Map(sent.map((p) => [base(p), p]));
  const out = new Map<string, string>();
  for (const f of answer) {
    const p = f.name === undefined ? undefined : byName.get(f.name);
    if (!p || out.has(p)) return null;
    out.set(p, f.id);
  }
  return out;
}

/**
 * Which of `paths` listFiles already shows. `filepath` is present for Admin
 * callers; without it the file name identifies the file within its dataset.
 * When a path was registered twice (an old duplicate), the oldest id wins.
 */
export function findRegistered(paths: readonly string[], files: readonly DatasetFile[]): Map<string, string> {
  const wanted = new Set(paths);
  const byName = new Map(paths.map((p) => [base(p), p]));
  const out = new Map<string, string>();
  for (const f of files) {
    const p = f.filepath !== undefined ? (wanted.has(f.filepath) ? f.filepath : undefined) : byName.get(f.filename);
    if (!p) continue;
    const prev = out.get(p);
    if (prev === undefined || f.id < prev) out.set(p, f.id);
  }
  return out;
}

/**
 * For paths being replaced (path → the old file's id): the files listFiles
 * shows for each path other than the old one, oldest first. A non-empty list
 * means an earlier attempt registered the new version (its reply was lost, or
 * the worker crashed before recording it).
 */
export function findReplacements(old: ReadonlyMap<string, string>, files: readonly DatasetFile[]): Map<string, string[]> {
  const byName = new Map([...old.keys()].map((p) => [base(p), p]));
  const out = new Map<string, string[]>();
  for (const f of files) {
    const p = f.filepath !== undefined ? (old.has(f.filepath) ? f.filepath : undefined) : byName.get(f.filename);
    if (!p || f.id === old.get(p)) continue;
    const list = out.get(p);
    if (list) list.push(f.id);
    else out.set(p, [f.id]);
  }
  for (const list of out.values()) list.sort();
  return out;
}
