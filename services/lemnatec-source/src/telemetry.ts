import { counter, gauge, histogram, type ErrorCode, type Logger, type Registry } from '@terra-transfer/platform';

export type WarningKind = 'unknown_camera_label' | 'undecodable_barcode';

/** One function per named occurrence: it logs and updates its metric. Labels are bounded (site, database names from the instrument's list, fixed codes). */
export function lemnatecTelemetry(logger: Logger, registry: Registry, site: string) {
  const snapshots = counter(registry, 'terra_transfer_lemnatec_snapshots_total', 'Snapshots by outcome: taken (completed, into work), published (every file sent or failed), watering_only (no image)', ['site', 'outcome']);
  const files = counter(registry, 'terra_transfer_lemnatec_files_sent_total', 'Files published (file.uploaded confirmed), by kind (metadata, image)', ['site', 'kind']);
  const failed = counter(registry, 'terra_transfer_lemnatec_images_failed_total', 'Images given up (file.failed published), by reason', ['site', 'reason']);
  const retried = counter(registry, 'terra_transfer_lemnatec_blob_retries_total', 'Blob reads retried (missing or unreadable, maybe still being written)', ['site']);
  const warnings = counter(registry, 'terra_transfer_lemnatec_warnings_total', 'Snapshots sent with fields that did not decode, by kind', ['site', 'kind']);
  const pollErrors = counter(registry, 'terra_transfer_lemnatec_poll_errors_total', 'Polls of an experiment database that failed (retried next poll), by code', ['site', 'code']);
  const dbUp = gauge(registry, 'terra_transfer_lemnatec_database_up', '1 while the instrument database answers (readiness)', ['site']);
  const staged = gauge(registry, 'terra_transfer_lemnatec_staging_bytes', 'Bytes held in the staging area', ['site']);
  const inFlight = gauge(registry, 'terra_transfer_lemnatec_snapshots_in_flight', 'Snapshots being exported and published now', ['site']);
  const publishSeconds = histogram(registry, 'terra_transfer_lemnatec_snapshot_publish_seconds', 'From a snapshot taken to all its files published', ['site'], [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300]);
  const log = logger.child({ site });
  let lastDown = 0;
  return {
    taken(database: string, id: number) {
      snapshots.inc({ site, outcome: 'taken' });
      log.debug({ database, snapshot: id }, 'snapshot taken');
    },
    published(database: string, id: number, folder: string, images: number, seconds: number) {
      snapshots.inc({ site, outcome: images === 0 ? 'watering_only' : 'published' });
      publishSeconds.observe({ site }, seconds);
      log.debug({ database, snapshot: id, folder, images, seconds }, 'snapshot published');
    },
    sent(kind: 'metadata' | 'image') {
      files.inc({ site, kind });
    },
    imageFailed(database: string, id: number, file: string, reason: string, detail: string) {
      failed.inc({ site, reason });
      log.error({ database, snapshot: id, file, reason, detail }, 'image given up: file.failed published');
    },
    blobRetry(database: string, id: number, file: string, attempt: number, reason: ErrorCode) {
      retried.inc({ site });
      log.warn({ database, snapshot: id, file, attempt, reason }, 'blob not readable yet; retrying');
    },
    warning(database: string, id: number, kind: WarningKind, detail: string) {
      warnings.inc({ site, kind });
      log.warn({ database, snapshot: id, kind, detail }, 'snapshot sent with fields that did not decode');
    },
    pollFailed(database: string | null, code: ErrorCode, err: string) {
      pollErrors.inc({ site, code });
      if (Date.now() - lastDown > 30_000) log.error({ database, code, err }, 'poll failed; retried next poll');
      lastDown = Date.now();
    },
    databaseUp(up: boolean) {
      dbUp.set({ site }, up ? 1 : 0);
    },
    schemaMismatch(database: string, message: string) {
      pollErrors.inc({ site, code: 'SCHEMA_MISMATCH' });
      log.error({ database, code: 'SCHEMA_MISMATCH' }, message);
    },
    staging(bytes: number, snapshots: number) {
      staged.set({ site }, bytes);
      inFlight.set({ site }, snapshots);
    },
    cleaned(database: string, id: number) {
      log.debug({ database, snapshot: id }, 'snapshot staging cleaned');
    },
  };
}
export type LemnatecTelemetry = ReturnType<typeof lemnatecTelemetry>;
