import { counter, gauge, tally, type ErrorCode, type Logger, type Registry, type Tally } from '@terra-transfer/platform';
import type { FollowerEvents } from './adapters/follower.js';

/** What happened to a log line: a small fixed set (a metric label). */
export type LineOutcome =
  | 'published'
  | 'incomplete_upload'
  | 'download'
  | 'delete'
  | 'hidden'
  | 'not_whitelisted'
  | 'gone'
  | 'ambiguous'
  | 'rejected'
  | 'unparseable'
  | 'too_long';

/** The outcomes above as a value: each has its series from the start. */
export const LINE_OUTCOMES: readonly LineOutcome[] = [
  'published', 'incomplete_upload', 'download', 'delete', 'hidden', 'not_whitelisted', 'gone', 'ambiguous', 'rejected', 'unparseable', 'too_long',
];

/** One function per named occurrence: it logs (structured) and updates its metric. */
export function tailerTelemetry(logger: Logger, registry: Registry) {
  const lines = counter(registry, 'terra_transfer_xferlog_lines_total', 'xferlog lines read, by outcome', ['outcome']);
  const published = counter(registry, 'terra_transfer_xferlog_events_published_total', 'file.uploaded events confirmed by the broker');
  // Tallies (these run once per line): folded into the counters when they are read.
  const linesPublished = tally(lines, { outcome: 'published' });
  const eventsPublished = tally(published);
  const linesBy: Partial<Record<LineOutcome, Tally>> = {};
  // Series at 0 before the first line, so rate() and increase() answer 0, not nothing (the tallies add to them).
  for (const outcome of LINE_OUTCOMES) lines.inc({ outcome }, 0);
  const unresolved = counter(registry, 'terra_transfer_xferlog_unresolved_names_total', 'Logged names that did not resolve to exactly one file in the cache', ['reason']);
  for (const reason of ['gone', 'ambiguous', 'rejected']) unresolved.inc({ reason }, 0);
  const lag = gauge(registry, 'terra_transfer_xferlog_cursor_lag_bytes', 'Bytes read from the logs but not yet settled in the durable cursor');
  const openFiles = gauge(registry, 'terra_transfer_xferlog_open_files', 'Log files being read (current and rotated ones still drained)');
  const rotations = counter(registry, 'terra_transfer_xferlog_rotations_total', 'Log rotations seen', ['kind']);
  const truncations = counter(registry, 'terra_transfer_xferlog_truncations_total', 'Logs found shorter than where reading stood, without a rotated copy');
  const unavailable = counter(registry, 'terra_transfer_xferlog_unavailable_total', 'Times the log path stopped naming a readable file', ['reason']);
  const checkpoints = counter(registry, 'terra_transfer_xferlog_checkpoints_total', 'Cursor checkpoints, by result', ['result']);
  const cursorLost = counter(registry, 'terra_transfer_xferlog_cursor_lost_total', 'Starts where no file of the stored cursor was found (all logs read again)');
  const publishFailures = counter(registry, 'terra_transfer_xferlog_publish_failures_total', 'Publishes that failed and will be retried', ['code']);
  const readFailures = counter(registry, 'terra_transfer_xferlog_read_failures_total', 'Errors reading a log file');
  const unsettled = counter(registry, 'terra_transfer_xferlog_listing_unsettled_total', 'Starts whose look at the rotated logs kept being disturbed by rotations (it went on with the last look)');
  const partial = counter(registry, 'terra_transfer_xferlog_partial_lines_dropped_total', 'Unterminated last lines of released rotated files');

  const follower: FollowerEvents = {
    rotated(kind, path) {
      rotations.inc({ kind });
      logger.info({ kind, path }, 'log rotated');
    },
    truncated(path, offset) {
      truncations.inc();
      logger.warn({ path, offset }, 'log truncated without a rotated copy: unread lines after this offset are lost');
    },
    logUnavailable(path, reason, err) {
      unavailable.inc({ reason });
      logger.warn({ path, reason, err }, 'log path does not name a readable file; still draining the previous one');
    },
    logBack(path) {
      logger.info({ path }, 'log path names a readable file again');
    },
    resumed(path, offset, gz) {
      logger.info({ path, offset, gz }, 'reading log');
    },
    cursorLost(files) {
      cursorLost.inc();
      logger.error({ files }, 'none of the cursor\'s files was found: reading every log from the start (duplicates keep their ids)');
    },
    partialLineDropped(path, offset, bytes) {
      partial.inc();
      logger.warn({ path, offset, bytes }, 'rotated log released with an unterminated last line');
    },
    fileReleased(path, offset) {
      logger.info({ path, offset }, 'rotated log drained and released');
    },
    readFailed(path, err) {
      readFailures.inc();
      logger.error({ path, err }, 'reading a log failed');
    },
    listingUnsettled(path) {
      unsettled.inc();
      logger.warn({ path }, 'rotations kept moving the logs while the start listed them: going on with the last listing (a file renamed mid-listing is seen twice, never missed)');
    },
  };

  return {
    follower,
    /** A line that needed no event (or could not have one). Normal skips log at debug; bad input at warn with its offset. */
    skipped(outcome: Exclude<LineOutcome, 'published'>, path: string, offset: number, detail?: Record<string, unknown>) {
      (linesBy[outcome] ??= tally(lines, { outcome })).inc();
      if (outcome === 'unparseable' || outcome === 'too_long' || outcome === 'gone' || outcome === 'ambiguous' || outcome === 'rejected') {
        if (outcome === 'gone' || outcome === 'ambiguous' || outcome === 'rejected') unresolved.inc({ reason: outcome });
        logger.warn({ outcome, log: path, offset, ...detail }, 'xferlog line not published');
      } else {
        logger.debug({ outcome, log: path, offset, ...detail }, 'xferlog line skipped');
      }
    },
    published(n = 1) {
      linesPublished.inc(n);
      eventsPublished.inc(n);
    },
    publishFailed(code: ErrorCode, attempt: number, err: string) {
      publishFailures.inc({ code });
      if (attempt === 1 || attempt % 20 === 0) logger.warn({ code, attempt, err }, 'publish failed; retrying');
    },
    checkpoint(result: 'saved' | 'failed', err?: unknown) {
      checkpoints.inc({ result });
      if (result === 'failed') logger.error({ err }, 'cursor checkpoint failed; will retry');
    },
    cursorUnreadable(path: string, err: unknown) {
      cursorLost.inc();
      logger.error({ path, err }, 'stored cursor is unreadable: reading every log from the start');
    },
    gauges(lagBytes: number, files: number) {
      lag.set(lagBytes);
      openFiles.set(files);
    },
  };
}

export type TailerTelemetry = ReturnType<typeof tailerTelemetry>;
