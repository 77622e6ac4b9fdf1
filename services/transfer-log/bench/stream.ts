/**
 * The generated pipeline stream the transfer-log bench replays. Versions of
 * files go through the pipeline in tasks of 500: 500 file.uploaded, one
 * task.submitted listing them, then per file file.transferred, file.deleted
 * and file.ingested, or file.failed (one version in 200); a task's outcomes
 * come `lagTasks` tasks later (uploads of the next tasks in between, as in the
 * pipeline, where a transfer takes minutes), so a version's events are
 * thousands of events apart, never folded into one batch. Once every path
 * has a version, paths are rewritten (a new upload id, same path), so the
 * stream holds `events` events over `files` paths. Event times run evenly
 * over `spanDays` days ending an hour before the start (day partitions and
 * ISO weeks are exercised as in production). Everything is a pure function
 * of the version number, so the query loop can name a known path without
 * keeping the stream in memory.
 */

export const TASK_FILES = 500;
/** One version in FAIL_EVERY gives up (file.failed) instead of arriving. */
export const FAIL_EVERY = 200;
export const SITES = ['ua-mac', 'ua-mac', 'ksu', 'danforth'] as const;
export const SENSORS = ['stereoTop', 'flirIrCamera', 'scanner3DTop', 'VNIR', 'SWIR', 'ps2Top'] as const;

export interface StreamPlan {
  events: number;
  files: number;
  spanDays: number;
  /** Time of the last event (ms since the epoch). */
  endMs: number;
  /** Tasks uploaded between a task's submission and its outcomes. */
  lagTasks: number;
}

export interface OutEvent {
  id: string;
  type: string;
  /** Unix seconds (the AMQP timestamp property). */
  time: number;
  body: Buffer;
}

export interface Chunk {
  /** Versions [first, end) of this task. */
  first: number;
  end: number;
  events: OutEvent[];
}

interface Version { v: number; site: string; sensor: string; path: string; size: number; mtimeMs: number; uploadId: string; attempt: number; sourcePath: string; destinationPath: string }

const hex = (n: number, width: number) => (n >>> 0).toString(16).padStart(width, '0').slice(-width);

export function fileOf(plan: StreamPlan, p: number) {
  const site = SITES[Math.floor(p / TASK_FILES) % SITES.length]!;
  const sensor = SENSORS[p % SENSORS.length]!;
  const daysOfFiles = Math.max(1, plan.spanDays);
  const day = new Date(plan.endMs - (daysOfFiles - Math.floor((p / plan.files) * daysOfFiles)) * 86_400_000).toISOString().slice(0, 10);
  const scan = Math.floor(p / 60);
  const stamp = `${day}__${String(Math.floor(scan / 3600) % 24).padStart(2, '0')}-${String(Math.floor(scan / 60) % 60).padStart(2, '0')}-${String(scan % 60).padStart(2, '0')}-${String(p % 1000).padStart(3, '0')}`;
  const path = `/gantry_data/${site}/MovingSensor/${sensor}/${day}/${stamp}/${hex(p * 2654435761, 8)}-${hex(p, 4)}_${p % 60}.bin`;
  return { site, sensor, path };
}

/** Versions the plan needs so the stream reaches `events` (about four events per version, plus a submission per task). */
export function versionsFor(plan: StreamPlan): number {
  return Math.ceil(plan.events / (4 - 2 / FAIL_EVERY + 1 / TASK_FILES)) + TASK_FILES;
}

/** The chunks (tasks) of the stream, in publishing order, cut at exactly `plan.events` events. */
export function* chunks(plan: StreamPlan): Generator<Chunk> {
  const versions = versionsFor(plan);
  const tasks = Math.ceil(versions / TASK_FILES);
  const stepMs = (plan.spanDays * 86_400_000) / tasks;
  const startMs = plan.endMs - plan.spanDays * 86_400_000;
  let emitted = 0;
  const later: Array<() => void> = [];
  let out: OutEvent[] = [];
  const push = (type: string, id: string, atMs: number, data: unknown) => {
    if (emitted >= plan.events) return;
    const time = new Date(atMs).toISOString();
    out.push({ id, type, time: Math.floor(atMs / 1000), body: Buffer.from(JSON.stringify({ type, version: 1, id, time, data })) });
    emitted++;
  };
  for (let t = 0; emitted < plan.events; t++) {
    const base = startMs + t * stepMs;
    const first = t * TASK_FILES;
    const end = first + TASK_FILES;
    out = [];
    const taskId = `${hex(t * 40503, 8)}-${hex(t, 4)}-11ef-9c3a-${hex(t * 2246822519, 8)}${hex(t, 4)}`;
    const vs: Version[] = [];
    for (let v = first; v < end; v++) {
      const { site, sensor, path } = fileOf(plan, v % plan.files);
      const attempt = 1;
      const size = 50_000 + ((v * 7919) % 40_000_000);
      const mtimeMs = Math.floor(base) - 60_000;
      const uploadId = `xferlog:${hex(v % plan.files, 6)}:${Math.floor(v / plan.files) + 1}:${v}`;
      vs.push({ v, site, sensor, path, size, mtimeMs, uploadId, attempt, sourcePath: `/~${path}`, destinationPath: `/ua-mac/raw_data${path.slice(path.indexOf('/MovingSensor') + 13)}` });
    }
    for (const [i, f] of vs.entries()) {
      push('file.uploaded', `up-${f.v}`, base + i * 10, { site: f.site, sensor: f.sensor, path: f.path, size: f.size, mtimeMs: f.mtimeMs, ftpTime: new Date(base + i * 10 - 1000).toISOString(), source: 'xferlog', attempt: f.attempt, uploadId: f.uploadId });
    }
    push('task.submitted', `sub-${t}`, base + 10_000, {
      taskId, submissionId: `sub-${hex(t, 8)}`, batchId: `batch-${hex(t, 8)}`, label: `terra ${vs[0]!.site} ${t}`, sourceEndpoint: 'a1b2c3d4-cache', destinationEndpoint: 'e5f6a7b8-dest', submittedAt: new Date(base + 10_000).toISOString(),
      files: vs.map(({ path, sourcePath, destinationPath, size, mtimeMs, site, sensor, uploadId, attempt }) => ({ path, sourcePath, destinationPath, size, mtimeMs, site, sensor, uploadId, attempt })),
    });
    const fails = (v: number) => v % FAIL_EVERY === FAIL_EVERY - 1;
    later.push(() => {
    for (const [i, f] of vs.entries()) {
      if (fails(f.v)) push('file.failed', `fail-${f.v}`, base + 600_000 + i * 10, { site: f.site, sensor: f.sensor, path: f.path, size: f.size, uploadId: f.uploadId, attempts: 3, reason: 'FILE_NOT_FOUND', detail: 'Globus: the source file is gone (attempt 3 of 3)', lastTaskId: taskId });
      else push('file.transferred', `tr-${f.v}`, base + 300_000 + i * 10, { site: f.site, sensor: f.sensor, path: f.path, sourcePath: f.sourcePath, destinationPath: f.destinationPath, size: f.size, mtimeMs: f.mtimeMs, checksum: hex(f.v * 2654435761, 8).repeat(4), checksumAlgorithm: 'MD5', taskId, uploadId: f.uploadId, attempt: f.attempt });
    }
    for (const [i, f] of vs.entries()) {
      if (!fails(f.v)) push('file.deleted', `del-${f.v}`, base + 400_000 + i * 10, { site: f.site, path: f.path, bytesFreed: f.size, taskId, uploadId: f.uploadId });
    }
    for (const [i, f] of vs.entries()) {
      if (!fails(f.v)) push('file.ingested', `ing-${f.v}`, base + 500_000 + i * 10, { site: f.site, sensor: f.sensor, destinationPath: f.destinationPath, clowderPath: f.destinationPath, fileId: hex(f.v, 8).repeat(3), datasetId: hex(t, 8).repeat(3), datasetName: `${f.sensor} - ${f.path.split('/')[7] ?? t}`, collectionIds: [], spaceId: null, uploadId: f.uploadId });
    }
    });
    // After the last task, the outcomes still owed come out in order.
    const last = versionsFor(plan) <= end || t + 1 >= tasks;
    while (later.length > (last ? 0 : plan.lagTasks)) later.shift()!();
    if (out.length > 0) yield { first, end, events: out };
  }
}
