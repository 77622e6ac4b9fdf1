import { counter, gauge, histogram, type ErrorCode, type Logger, type Registry } from '@terra-transfer/platform';
import type { Verdict } from './core/decide.js';

/** Why a scan ran: a small fixed set (a metric label). */
export type ScanKind = 'full' | 'folder' | 'completed';

/** One function per named occurrence: it logs (structured) and updates its metric. Every label is bounded (site names are checked by the site file). */
export function directoryTelemetry(logger: Logger, registry: Registry, site: string) {
  const seen = counter(registry, 'terra_transfer_directory_files_seen_total', 'Observations of admitted files (a stat), by verdict', ['site', 'verdict']);
  const sent = counter(registry, 'terra_transfer_directory_files_sent_total', 'Files published and recorded; changed = another version of the path was sent before', ['site', 'version']);
  const settling = gauge(registry, 'terra_transfer_directory_files_settling', 'Files waiting to settle (tracked in memory)', ['site']);
  const scans = histogram(registry, 'terra_transfer_directory_scan_duration_seconds', 'Duration of scans, by kind', ['site', 'kind'], [0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600]);
  const watcherErrors = counter(registry, 'terra_transfer_directory_watcher_errors_total', 'Errors from the file watcher (the full scan covers what it misses)', ['site']);
  const readErrors = counter(registry, 'terra_transfer_directory_read_errors_total', 'Folders or files that could not be read (other than vanished)', ['site']);
  const hintsDropped = counter(registry, 'terra_transfer_directory_hints_dropped_total', 'Watch hints dropped because the queue was full (a full scan follows)', ['site']);
  const publishFailures = counter(registry, 'terra_transfer_directory_publish_failures_total', 'Publishes or records that failed and will be retried', ['site', 'code']);
  const rootMissing = gauge(registry, 'terra_transfer_directory_root_missing', '1 while the root folder is missing (not ready)', ['site']);
  // The site's series whose label values are a closed set exist from the start, so rate() and increase() answer 0, not nothing.
  for (const version of ['new', 'changed']) sent.inc({ site, version }, 0);
  for (const c of [watcherErrors, readErrors, hintsDropped]) c.inc({ site }, 0);
  let missingLogged = false;
  let lastReadErrorLog = 0;

  return {
    observed(v: Verdict['kind'], n = 1) {
      seen.inc({ site, verdict: v }, n);
    },
    sent(rel: string, changed: boolean, uploadId: string) {
      sent.inc({ site, version: changed ? 'changed' : 'new' });
      logger.debug({ site, file: rel, changed, uploadId }, 'file published');
    },
    settling(n: number) {
      settling.set({ site }, n);
    },
    scanned(kind: ScanKind, seconds: number, files: number) {
      scans.observe({ site, kind }, seconds);
      if (kind === 'full') logger.info({ site, seconds: Math.round(seconds * 1000) / 1000, files }, 'full scan done');
    },
    watcherError(err: unknown) {
      watcherErrors.inc({ site });
      logger.warn({ site, err }, 'watcher error; the full scan covers what it missed');
    },
    readError(path: string, err: unknown) {
      readErrors.inc({ site });
      // One line per minute at most: a whole unreadable tree must not flood the log.
      if (Date.now() - lastReadErrorLog > 60_000) {
        lastReadErrorLog = Date.now();
        logger.warn({ site, path, err }, 'could not read a folder or file (counted; further ones this minute not logged)');
      }
    },
    hintsDropped(n: number) {
      hintsDropped.inc({ site }, n);
      logger.warn({ site, dropped: n }, 'watch hints overflowed; running a full scan instead');
    },
    publishFailed(code: ErrorCode, attempt: number, err: string) {
      publishFailures.inc({ site, code });
      if (attempt === 1 || attempt % 20 === 0) logger.warn({ site, code, attempt, err }, 'publish or record failed; retrying');
    },
    root(present: boolean, root: string) {
      rootMissing.set({ site }, present ? 0 : 1);
      if (!present && !missingLogged) logger.error({ site, root }, 'root folder is missing: not ready until it exists');
      if (present && missingLogged) logger.info({ site, root }, 'root folder is back');
      missingLogged = !present;
    },
  };
}

export type DirectoryTelemetry = ReturnType<typeof directoryTelemetry>;
