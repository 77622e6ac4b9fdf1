import { readFile, stat } from 'node:fs/promises';
import type { ClowderClient } from '@terra-transfer/clowder';
import { PermanentError, TransientError } from '@terra-transfer/platform';
import { alreadyAttached, datasetMetadataBody } from '../core/metadata.js';
import type { IngestTelemetry } from '../telemetry.js';
import type { Ledger } from './ledger.js';
import { attempt } from './retry.js';

/** Where a metadata.json comes from: its site and, by the site's naming rules, its sensor. */
export interface MetadataOrigin {
  site: string;
  sensor: string;
}

/**
 * Attaches a dataset's metadata.json as dataset metadata once: a Redis flag
 * answers first; under the dataset's metadata lock, Clowder is asked whether a
 * record from our agent exists (TERRA's check) before posting, unless the
 * dataset was created by this process a moment ago and no post was left half
 * done (an intent set before each post and cleared with the flag marks the
 * crash window between posting and flagging).
 */
export class MetadataAttacher {
  constructor(
    private readonly clowder: ClowderClient,
    private readonly ledger: Ledger,
    private readonly telemetry: IngestTelemetry,
    private readonly opts: {
      agentUserUrl: string;
      vocab: string;
      attempts: number;
      retryBaseMs: number;
      /** Cleans the content as TERRA's uploader did (terrautils clean_metadata), given the sensor of the dataset. */
      convert: (content: unknown, origin: MetadataOrigin) => Promise<unknown>;
      takeFresh?: (datasetId: string) => boolean;
      /** Like takeFresh, without taking: nothing can be attached to the dataset yet, so the check before the lock is skipped. */
      isFresh?: (datasetId: string) => boolean;
    },
  ) {}

  /**
   * A `metadataFirst` site: the dataset's metadata.json is attached before
   * another file of the dataset is registered. Not arrived yet (its Globus
   * task may finish after this file's): a transient error, so the delivery
   * is retried after a backoff and the file is registered once it has.
   */
  async attachFirst(datasetId: string, metadataPath: string, origin: MetadataOrigin, signal?: AbortSignal): Promise<void> {
    if (await this.ledger.metadataAttached(datasetId)) return;
    try {
      await stat(metadataPath);
    } catch (err) {
      throw new TransientError('METADATA_NOT_ARRIVED', `${metadataPath} has not arrived: the dataset's other files wait for it`, { cause: err });
    }
    await this.attachOnce(datasetId, metadataPath, origin, signal);
  }

  async attachOnce(datasetId: string, localPath: string, origin: MetadataOrigin, signal?: AbortSignal): Promise<void> {
    // Without the lock first (a redelivery is answered here), unless this process just created the dataset.
    if (!(this.opts.isFresh?.(datasetId) ?? false) && (await this.ledger.metadataAttached(datasetId))) return;
    const release = await this.ledger.lock(`metadata:${datasetId}`, signal);
    try {
      const state = await this.ledger.metadataState(datasetId);
      if (state.attached) return;
      const read = await readJson(localPath);
      if (!read.ok) {
        // Not attached and not flagged: a newer version of the file (the complete upload after a
        // killed one) arrives as its own file.transferred and attaches then. The file itself is
        // registered either way; dead-lettering would leave it out of Clowder for good.
        this.telemetry.metadataInvalid(datasetId, localPath, read.reason);
        return;
      }
      // Cleaned as TERRA's uploader cleaned it (terrautils clean_metadata: lemnatec.clean for gantry metadata).
      const content = await this.opts.convert(read.content, origin);
      // Ask Clowder first unless this process created the dataset a moment ago and nobody left a post half done.
      const fresh = this.opts.takeFresh?.(datasetId) ?? false;
      const leftover = state.intent;
      await attempt(this.opts.attempts, this.opts.retryBaseMs, async (n) => {
        if (n > 1 || leftover || !fresh) {
          if (alreadyAttached(await this.clowder.datasetMetadata(datasetId), this.opts.agentUserUrl)) return;
        }
        await this.ledger.setMetadataIntent(datasetId);
        await this.clowder.addDatasetMetadata(datasetId, datasetMetadataBody(content, this.opts.agentUserUrl, this.opts.vocab));
        this.telemetry.metadataAttached();
      }, signal);
      await this.ledger.markMetadataAttached(datasetId, localPath);
    } finally {
      await release().catch(() => undefined);
    }
  }
}

/**
 * The original marked a missing or unparseable metadata file as an ERROR (not
 * retried). A missing one still is (permanent); one that does not parse is
 * most often a version that is already stale (a killed upload's truncated
 * copy) and is reported instead.
 */
async function readJson(path: string): Promise<{ ok: true; content: unknown } | { ok: false; reason: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') throw new PermanentError('METADATA_UNREADABLE', `${path}: ${code}`);
    throw new TransientError('METADATA_READ', `${path}: ${String(err)}`, { cause: err });
  }
  try {
    return { ok: true, content: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}
