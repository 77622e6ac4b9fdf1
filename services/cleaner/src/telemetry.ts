import { counter, gauge, histogram, type Logger, type Registry } from '@terra-transfer/platform';
import { FILE_STATES, type FileState, type MarkFailedResult } from '@terra-transfer/ledger';
import type { NoopOutcome } from './core/deletion.js';
import { GIVE_UP_REASONS, giveUpReason, type KeepCode } from './core/resend.js';
import { RESEND_OUTCOMES, type ResendOutcome } from './failures.js';
import type { CleanerErrorCode } from './errors.js';
import { SWEEP_VERDICTS, type SweepVerdict } from './core/sweep-policy.js';
import type { SweepStatus } from './core/sweep-status.js';
import { SUBMIT_REFUSALS, type SubmitRefusal } from './core/submission.js';

/** Outcomes of one file.transferred (closed set: the label of terra_transfer_cleaner_deletions_total). */
type DeletionOutcome =
  | 'deleted'
  /** Gone before we got to it, ledger still said transferred: bookkeeping finished. */
  | 'finished_gone'
  | NoopOutcome
  /** Changed after upload: sent again as a new upload. */
  | 'resent'
  /** The site's deletion policy is `never`: the arrival is recorded in the ledger (transferred), the file stays. */
  | 'kept_by_policy'
  | 'refused_unverified'
  | 'refused_unsafe_path'
  | 'refused_not_regular'
  | 'refused_checksum_mismatch';

/** Every deletion outcome (the type above as a value, so each series exists from the start). */
const DELETION_OUTCOMES: readonly DeletionOutcome[] = [
  'deleted', 'finished_gone', 'already_deleted', 'gone', 'changed_known', 'changed_recent', 'resent', 'kept_by_policy',
  'refused_unverified', 'refused_unsafe_path', 'refused_not_regular', 'refused_checksum_mismatch',
];
const FAILURE_OUTCOMES: readonly MarkFailedResult['outcome'][] = ['failed', 'already', 'other_upload', 'not_live'];

const REFUSAL_OUTCOME: Record<CleanerErrorCode, DeletionOutcome> = {
  UNVERIFIED_TRANSFER: 'refused_unverified',
  NOT_A_REGULAR_FILE: 'refused_not_regular',
  UNSAFE_PATH: 'refused_unsafe_path',
  CHECKSUM_MISMATCH: 'refused_checksum_mismatch',
};

/** Named occurrences of the cleaner: each logs and updates its metric; nothing else does either. */
export function cleanerTelemetry(logger: Logger, registry: Registry, site = 'unknown') {
  const deletions = counter(registry, 'terra_transfer_cleaner_deletions_total', 'file.transferred events handled by the cleaner, by outcome', ['outcome']);
  const freed = counter(registry, 'terra_transfer_cleaner_freed_bytes_total', 'Bytes freed in the cache by deletions');
  const dirsRemoved = counter(registry, 'terra_transfer_cleaner_dirs_removed_total', 'Empty parent directories removed after deletions');
  const sweepSeconds = histogram(registry, 'terra_transfer_sweep_duration_seconds', 'Duration of finished sweeps, by trigger and result', ['trigger', 'result'], [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200]);
  const sweepFiles = counter(registry, 'terra_transfer_sweep_files_total', 'Files the sweep walked past, by verdict (sent_* were published as file.uploaded)', ['verdict']);
  const sweepsSkipped = counter(registry, 'terra_transfer_sweeps_skipped_total', 'Sweeps not started because another replica holds the sweep lock');
  const lastSuccess = gauge(registry, 'terra_transfer_sweep_last_success_timestamp_seconds', 'When the last successful sweep finished (unix seconds)');
  const running = gauge(registry, 'terra_transfer_sweep_running', '1 while this replica runs a sweep');
  const oldest = gauge(registry, 'terra_transfer_cache_oldest_untransferred_file_age_seconds', 'Age, at the last sweep, of the oldest whitelisted cache file not known to be transferred (upper bound below the sweep threshold)');
  const fsSize = gauge(registry, 'terra_transfer_cache_fs_size_bytes', 'Size of the cache file system');
  const fsUsed = gauge(registry, 'terra_transfer_cache_fs_used_bytes', 'Used bytes of the cache file system');
  const fsFree = gauge(registry, 'terra_transfer_cache_fs_free_bytes', 'Bytes available to unprivileged users (the FTP server) on the cache file system');
  const fsErrors = counter(registry, 'terra_transfer_cache_fs_stat_errors_total', 'Failed statfs calls on the cache root');
  const failures = counter(registry, 'terra_transfer_cleaner_failures_total', 'file.failed events handled by the cleaner, by outcome (failed: the ledger recorded the give-up)', ['outcome']);
  const giveUps = counter(registry, 'terra_transfer_cleaner_give_ups_total', 'Give-ups recorded in the site ledger, by reason (known codes, else other)', ['reason']);
  const resends = counter(registry, 'terra_transfer_cleaner_resends_total', 'Failed files whose resend came due, by outcome', ['outcome']);
  // Every outcome has its series from the start, so rate() and increase() answer 0 instead of nothing.
  for (const outcome of RESEND_OUTCOMES) resends.inc({ outcome }, 0);
  const failedNow = gauge(registry, 'terra_transfer_failed_files', 'Files in the failed state in the site ledger (given up; waiting for their resend or an operator)', ['site']);
  const resendErrors = counter(registry, 'terra_transfer_cleaner_resend_errors_total', 'Resend passes or gauge refreshes that failed (Redis or the broker); retried on the next check');
  const submissions = counter(registry, 'terra_transfer_cleaner_submissions_total', 'Paths of manual submissions (POST /api/v1/files), by outcome (accepted, or the refusal code)', ['site', 'outcome']);
  const ledgerFiles = gauge(registry, 'terra_transfer_ledger_files', "Records of the site's ledger by state, at the last census (pending+batched+in_flight: the backlog; deleted: kept for DELETED_TTL_HOURS)", ['site', 'state']);
  const censusErrors = counter(registry, 'terra_transfer_ledger_census_errors_total', 'Ledger censuses that failed (Redis); the gauge keeps its last values until the next one', ['site']);
  const censusAge = gauge(registry, 'terra_transfer_ledger_census_timestamp_seconds', 'When the last ledger census finished (unix seconds)', ['site']);
  // Every series whose label values are a closed set exists from the start, so rate() and increase() answer 0, not nothing.
  for (const outcome of DELETION_OUTCOMES) deletions.inc({ outcome }, 0);
  for (const outcome of FAILURE_OUTCOMES) failures.inc({ outcome }, 0);
  for (const reason of GIVE_UP_REASONS) giveUps.inc({ reason }, 0);
  for (const verdict of SWEEP_VERDICTS) sweepFiles.inc({ verdict }, 0);
  for (const outcome of ['accepted', ...Object.keys(SUBMIT_REFUSALS)]) submissions.inc({ site, outcome }, 0);
  censusErrors.inc({ site }, 0);
  failedNow.set({ site }, 0);
  const log = logger.child({ component: 'cleaner' });

  return {
    deleted(path: string, bytes: number, taskId: string, dirs: string[]) {
      deletions.inc({ outcome: 'deleted' });
      freed.inc(bytes);
      if (dirs.length) dirsRemoved.inc(dirs.length);
      log.info({ path, bytes, taskId, dirsRemoved: dirs.length }, 'file deleted from the cache');
    },
    finishedGone(path: string, taskId: string) {
      deletions.inc({ outcome: 'finished_gone' });
      log.info({ path, taskId }, 'file already gone; deletion bookkeeping finished');
    },
    noop(outcome: NoopOutcome, path: string, taskId: string) {
      deletions.inc({ outcome });
      log.info({ path, taskId, outcome }, 'nothing to delete');
    },
    keptByPolicy(path: string, taskId: string) {
      deletions.inc({ outcome: 'kept_by_policy' });
      log.info({ path, taskId }, 'file arrived; the deletion policy is never: recorded as transferred, kept in the cache');
    },
    submissionAccepted(path: string, size: number, uploadId: string) {
      submissions.inc({ site, outcome: 'accepted' });
      log.info({ path, size, uploadId }, 'file submitted by hand: sent');
    },
    submissionRefused(code: SubmitRefusal, path: string) {
      submissions.inc({ site, outcome: code });
      log.warn({ path, code }, 'file submitted by hand: refused, nothing sent');
    },
    resent(path: string, taskId: string, size: number, mtimeMs: number) {
      deletions.inc({ outcome: 'resent' });
      log.warn({ path, taskId, size, mtimeMs }, 'file changed after upload: kept and sent again as a new upload');
    },
    refused(code: CleanerErrorCode, path: string, reason: string) {
      deletions.inc({ outcome: REFUSAL_OUTCOME[code] });
      log.error({ path, code, reason }, 'deletion refused; the event is dead-lettered');
    },
    sweepStarted(id: string, trigger: string, minAgeMinutes: number) {
      running.set(1);
      log.info({ sweepId: id, trigger, minAgeMinutes }, 'sweep started');
    },
    sweepSkipped(trigger: string) {
      sweepsSkipped.inc();
      log.info({ trigger }, 'sweep not started: another one holds the lock');
    },
    /** Directories the walk could not read: their files were not looked at this time. Counted in the status; the first few named here. */
    sweepUnreadable(id: string, count: number, examples: readonly string[]) {
      log.warn({ sweepId: id, unreadableDirs: count, examples }, 'sweep could not read some directories; their files were not looked at');
    },
    sweepFiles(verdict: SweepVerdict, n: number) {
      if (n > 0) sweepFiles.inc({ verdict }, n);
    },
    sweepFinished(s: SweepStatus) {
      running.set(0);
      sweepSeconds.observe({ trigger: s.trigger, result: s.state }, s.durationSeconds ?? 0);
      if (s.state === 'succeeded') {
        lastSuccess.set(Date.parse(s.finishedAt ?? s.updatedAt) / 1000);
        oldest.set(s.oldestUntransferredAgeSeconds ?? 0);
        log.info({ sweepId: s.id, durationSeconds: s.durationSeconds, counts: s.counts, oldestUntransferredAgeSeconds: s.oldestUntransferredAgeSeconds }, 'sweep finished');
      } else {
        log.error({ sweepId: s.id, durationSeconds: s.durationSeconds, counts: s.counts, error: s.error }, 'sweep failed');
      }
    },
    /** At start-up: the gauges carry the last success recorded in Redis, so a restart does not reset them to 0 (and alert). */
    sweepRestored(s: SweepStatus) {
      lastSuccess.set(Date.parse(s.finishedAt ?? s.updatedAt) / 1000);
      oldest.set(s.oldestUntransferredAgeSeconds ?? 0);
      log.info({ sweepId: s.id, finishedAt: s.finishedAt }, 'last successful sweep restored from Redis');
    },
    failureHandled(res: MarkFailedResult, path: string, reason: string, attempts: number) {
      failures.inc({ outcome: res.outcome });
      if (res.outcome === 'failed') {
        giveUps.inc({ reason: giveUpReason(reason) });
        log.warn({ path, reason, attempts, giveUps: res.giveUps, resendAt: new Date(res.resendAt).toISOString() }, 'file given up: recorded failed in the ledger; resend scheduled');
      } else {
        log.info({ path, reason, outcome: res.outcome }, 'file.failed about an upload the ledger no longer holds (or a redelivery): nothing changed');
      }
    },
    ledgerCensus(counts: Record<FileState, number>, seconds: number) {
      for (const state of FILE_STATES) ledgerFiles.set({ site, state }, counts[state]);
      censusAge.set({ site }, Date.now() / 1000);
      log.debug({ counts, seconds }, 'ledger census');
    },
    ledgerCensusFailed(err: unknown) {
      censusErrors.inc({ site });
      log.warn({ err }, 'ledger census failed (Redis); retried at the next interval');
    },
    failedFiles(n: number) {
      failedNow.set({ site }, n);
    },
    resendOutcome(outcome: ResendOutcome) {
      resends.inc({ outcome });
    },
    resentFailed(path: string, giveUps: number, size: number, mtimeMs: number) {
      log.info({ path, giveUps, size, mtimeMs }, 'failed file sent again as a new round');
    },
    resentChanged(path: string, size: number, mtimeMs: number) {
      log.info({ path, size, mtimeMs }, 'failed file was replaced by another version: that version sent');
    },
    keptFailed(path: string, code: KeepCode, detail: string) {
      log.warn({ path, code, detail }, 'failed file not sent again: it stays failed for an operator');
    },
    resendError(path: string, err: unknown) {
      resendErrors.inc();
      log.warn({ path, err }, 'resend of a failed file failed; tried again when its lease ends');
    },
    resendPassFailed(err: unknown) {
      resendErrors.inc();
      log.warn({ err }, 'failed-file resend pass failed; retried at the next check');
    },
    cacheUsage(size: number, used: number, free: number) {
      fsSize.set(size);
      fsUsed.set(used);
      fsFree.set(free);
    },
    cacheUsageFailed(err: unknown) {
      fsErrors.inc();
      log.warn({ err }, 'statfs of the cache root failed');
    },
  };
}

export type CleanerTelemetry = ReturnType<typeof cleanerTelemetry>;
