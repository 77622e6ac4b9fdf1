import { createEvent } from '@terra-transfer/contracts';
import type { FileLedger } from '@terra-transfer/ledger';
import { PermanentError } from '@terra-transfer/platform';
import { sensorOf } from '@terra-transfer/site-layout';
import type { CacheFs } from './adapters/cache-fs.js';
import type { Publish } from './deleter.js';
import { apiUploadId } from './core/ids.js';
import { checkRequestedPath, SUBMIT_REFUSALS, type SubmitRefusal } from './core/submission.js';
import type { CleanerTelemetry } from './telemetry.js';

export interface SubmitRequest {
  paths: readonly string[];
  ignoreWhitelist?: boolean;
}

export interface Accepted {
  path: string;
  size: number;
  mtimeMs: number;
  uploadId: string;
}

export interface Refused {
  path: string;
  code: SubmitRefusal;
  reason: string;
}

export interface SubmitResult {
  accepted: Accepted[];
  refused: Refused[];
}

export interface SubmitterOptions {
  site: string;
  whitelist: readonly string[];
}

export interface SubmitterDeps {
  fs: CacheFs;
  ledger: FileLedger;
  publish: Publish;
  telemetry: CleanerTelemetry;
}

/**
 * A manual submission (POST /api/v1/files), the original gantry API's
 * `POST /files`: each path is checked (inside the site root, not hidden,
 * whitelisted unless the caller says otherwise, no symlink anywhere, a regular
 * file) and sent as file.uploaded (source `api`) into the same pipeline as the
 * log-tailer's, the ledger noting it pending, exactly as a resend. A path is
 * answered as accepted only once its publish is confirmed; a refused one is
 * published nothing. A broker or Redis failure fails the request (retryable:
 * the upload ids are deterministic, so a repeat sends nothing twice).
 */
export function createSubmitter(opts: SubmitterOptions, deps: SubmitterDeps) {
  const { fs, ledger, telemetry } = deps;

  async function one(path: string, ignoreWhitelist: boolean): Promise<Accepted | Refused> {
    const refuse = (code: SubmitRefusal, reason: string = SUBMIT_REFUSALS[code]): Refused => {
      telemetry.submissionRefused(code, path);
      return { path, code, reason };
    };
    const lexical = checkRequestedPath(fs.root, path, opts.whitelist, ignoreWhitelist);
    if (!lexical.ok) return refuse(lexical.code);
    let ins;
    try {
      ins = await fs.inspect(path);
    } catch (err) {
      // Lexically inside, yet refused by the disk walk: a symlinked folder, or a real parent outside the root.
      if (err instanceof PermanentError && err.code === 'UNSAFE_PATH') return refuse('SYMLINK', err.message);
      throw err;
    }
    const disk = ins.disk;
    if (disk.kind === 'missing') return refuse('MISSING');
    if (disk.kind === 'not_regular') return disk.type === 'symlink' ? refuse('SYMLINK') : refuse('NOT_A_REGULAR_FILE', `${SUBMIT_REFUSALS.NOT_A_REGULAR_FILE} (this is a ${disk.type})`);
    const { size, mtimeMs } = disk;
    const uploadId = apiUploadId(path, size, mtimeMs);
    const sensor = sensorOf(lexical.rel);
    await deps.publish(createEvent('file.uploaded', uploadId, { site: opts.site, sensor, path, size, mtimeMs, ftpTime: null, source: 'api', attempt: 1, uploadId }));
    await ledger.notePending({ path, size, mtimeMs, uploadId, attempt: 1, site: opts.site, sensor });
    telemetry.submissionAccepted(path, size, uploadId);
    return { path, size, mtimeMs, uploadId };
  }

  return async function submit(req: SubmitRequest): Promise<SubmitResult> {
    const out: SubmitResult = { accepted: [], refused: [] };
    // A path named twice is answered once.
    for (const path of new Set(req.paths)) {
      const r = await one(path, req.ignoreWhitelist === true);
      if ('code' in r) out.refused.push(r);
      else out.accepted.push(r);
    }
    return out;
  };
}

export type Submit = ReturnType<typeof createSubmitter>;
