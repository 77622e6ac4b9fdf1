import type { Redis } from 'ioredis';
import { FILE_STATES, type FileRecord, type FileState, type FileVersion } from './states.js';
import { LUA_SAME_VERSION } from './version.js';

export interface ClaimFile extends FileVersion {
  path: string;
  uploadId: string;
  attempt: number;
  site: string;
  sensor: string;
}

/**
 * What the batcher saw on disk when it chose a file's version: `seenAt` (ms
 * since the epoch) is when the cache file was found to be this version, or,
 * with `onDisk: false`, found missing.
 */
export interface ClaimSighting {
  seenAt: number;
  onDisk: boolean;
}

/** Outcome of claiming one file for a batch. */
export type ClaimResult =
  | { path: string; outcome: 'claimed' }
  | { path: string; outcome: 'in_batch'; batchId: string }
  | { path: string; outcome: 'in_flight'; taskId: string }
  | { path: string; outcome: 'transferred' }
  /** The record holds another version the disk showed more recently: this one is stale and left alone. */
  | { path: string; outcome: 'superseded' }
  /** The file is gone from the cache: nothing to send. */
  | { path: string; outcome: 'vanished' };

/*
 * Versions (size, mtimeMs) compare with same_version (version.ts: mtime to
 * the whole millisecond) in every script below.
 *
 * claim — KEYS: one file key per file. ARGV: batchId, now, vanishedTtlMs,
 * then 8 per file (size, mtimeMs, uploadId, attempt, site, sensor, seenAt,
 * onDisk "1"/"0").
 * Result: one string per file: "claimed" | "in_batch:<batchId>" |
 * "in_flight:<taskId>" | "transferred" | "superseded" | "vanished".
 * - A version already batched, in flight or transferred is not claimed
 *   again, unless the claim carries a higher attempt (the watcher sent it back
 *   after its task failed); a claim by the same batch is a no-op success
 *   (redelivery, recovery).
 * - Another version replaces the record only when the disk showed it no
 *   earlier than the record's version (`seenAt` ≥ the record's `diskSeenAt`):
 *   a retry of, or a redelivered event for, a version that is no longer the
 *   file's never replaces the newer version's record ("superseded").
 * - onDisk "0" (the file is gone): a version batched, in flight or
 *   transferred answers as above (its task deals with it); otherwise, when
 *   there is no record or the record is this version (pending, failed, or
 *   the batch or task a retry replaces), the record becomes failed with reason VANISHED and expires after
 *   vanishedTtlMs; a record of another version is left alone. "vanished".
 */
const CLAIM = LUA_SAME_VERSION + `
local batch = ARGV[1]
local now = ARGV[2]
local ttl = ARGV[3]
local out = {}
for i, key in ipairs(KEYS) do
  local b = 3 + (i - 1) * 8
  local size, mtime, seen, ondisk = ARGV[b + 1], ARGV[b + 2], ARGV[b + 7], ARGV[b + 8]
  local r = redis.call('HMGET', key, 'state', 'size', 'mtimeMs', 'batchId', 'taskId', 'attempt', 'diskSeenAt')
  local state = r[1]
  local version = state and same_version(r[2], r[3], size, mtime)
  local same = version
  -- A retry (higher attempt) supersedes the batch or task that failed to deliver it.
  local retry = same and tonumber(ARGV[b + 4]) > tonumber(r[6] or '1')
  if retry and (state == 'batched' or state == 'in_flight') then
    same = false
  end
  if same and state == 'batched' and r[4] ~= batch then
    out[i] = 'in_batch:' .. r[4]
  elseif same and state == 'in_flight' then
    out[i] = 'in_flight:' .. (r[5] or '')
  elseif same and (state == 'transferred' or state == 'deleted') then
    out[i] = 'transferred'
  elseif ondisk == '0' then
    if not state or version then
      redis.call('HSET', key, 'state', 'failed', 'size', size, 'mtimeMs', mtime, 'uploadId', ARGV[b + 3],
        'attempt', ARGV[b + 4], 'site', ARGV[b + 5], 'sensor', ARGV[b + 6], 'batchId', '', 'taskId', '',
        'checksum', '', 'reason', 'VANISHED', 'diskSeenAt', seen, 'updatedAt', now)
      redis.call('PEXPIRE', key, ttl)
    end
    out[i] = 'vanished'
  elseif state and not version and tonumber(seen) < tonumber(r[7] or '0') then
    out[i] = 'superseded'
  else
    redis.call('HSET', key, 'state', 'batched', 'size', size, 'mtimeMs', mtime, 'uploadId', ARGV[b + 3],
      'attempt', ARGV[b + 4], 'site', ARGV[b + 5], 'sensor', ARGV[b + 6], 'batchId', batch, 'taskId', '',
      'checksum', '', 'reason', '', 'diskSeenAt', seen, 'updatedAt', now)
    redis.call('PERSIST', key)
    out[i] = 'claimed'
  end
end
return out
`;

/*
 * transition — KEYS[1]: file key. ARGV: from (comma-separated states, or "*"),
 * to, now, ttlMs (0 = keep), size, mtimeMs ("" and "" = any version), then
 * field/value pairs to set.
 * Result: 1 if moved, 0 if the record did not exist, was in none of the
 * `from` states, or holds another version, so a redelivered step is a no-op.
 */
const TRANSITION = LUA_SAME_VERSION + `
local r = redis.call('HMGET', KEYS[1], 'state', 'size', 'mtimeMs')
local state = r[1]
if not state then return 0 end
if ARGV[5] ~= '' and not same_version(r[2], r[3], ARGV[5], ARGV[6]) then return 0 end
if ARGV[1] ~= '*' then
  local ok = false
  for s in string.gmatch(ARGV[1], '[^,]+') do if s == state then ok = true end end
  if not ok then return 0 end
end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'updatedAt', ARGV[3])
for i = 7, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) else redis.call('PERSIST', KEYS[1]) end
return 1
`;

/*
 * inFlight — KEYS: file keys. ARGV: batchId, taskId, now.
 * Result: how many records moved. Only a record this batch's claim still
 * holds (batched, batchId = this batch) moves: a path another batch claimed
 * since (a newer version, or this version again after a retry) is that
 * batch's, and its own task will carry it. Marking it with this task would
 * make that batch's claim before submission answer "in_flight" and drop the
 * file from it, while this task carries another version, or none.
 */
const IN_FLIGHT = `
local n = 0
for _, key in ipairs(KEYS) do
  local r = redis.call('HMGET', key, 'state', 'batchId')
  if r[1] == 'batched' and r[2] == ARGV[1] then
    redis.call('HSET', key, 'state', 'in_flight', 'taskId', ARGV[2], 'updatedAt', ARGV[3])
    redis.call('PERSIST', key)
    n = n + 1
  end
end
return n
`;

/** Files per in_flight script call: one call per batch of the usual sizes, and Redis never held long by one. */
const MARK_MANY = 1000;

/*
 * pending — KEYS: file keys. ARGV: now, then 6 per file (size, mtimeMs,
 * uploadId, attempt, site, sensor).
 * Result: one 1/0 per file: 1 when the record now says pending for this
 * version, 0 when this version is already further along (batched, in
 * flight, transferred, deleted) and was left alone.
 */
const PENDING = LUA_SAME_VERSION + `
local now = ARGV[1]
local out = {}
for i, key in ipairs(KEYS) do
  local b = 1 + (i - 1) * 6
  local r = redis.call('HMGET', key, 'state', 'size', 'mtimeMs')
  if r[1] and r[1] ~= 'pending' and r[1] ~= 'failed' and same_version(r[2], r[3], ARGV[b + 1], ARGV[b + 2]) then
    out[i] = 0
  else
    redis.call('HSET', key, 'state', 'pending', 'size', ARGV[b + 1], 'mtimeMs', ARGV[b + 2], 'uploadId', ARGV[b + 3],
      'attempt', ARGV[b + 4], 'site', ARGV[b + 5], 'sensor', ARGV[b + 6], 'batchId', '', 'taskId', '', 'checksum', '',
      'reason', '', 'updatedAt', now)
    redis.call('PERSIST', key)
    out[i] = 1
  end
end
return out
`;

/*
 * versions — KEYS: file keys. ARGV: none. Read-only.
 * Result: a flat array, 4 entries per key: state, size, mtimeMs, updatedAt
 * (nil where the record or field does not exist).
 */
const VERSIONS = `
local out = {}
for i, key in ipairs(KEYS) do
  local r = redis.call('HMGET', key, 'state', 'size', 'mtimeMs', 'updatedAt')
  local b = (i - 1) * 4
  out[b + 1] = r[1]; out[b + 2] = r[2]; out[b + 3] = r[3]; out[b + 4] = r[4]
end
return out
`;

/*
 * failed — KEYS[1]: file key, KEYS[2]: failed index (sorted set of paths,
 * score = when the resend is due, ms). ARGV: path, uploadId, size, attempts,
 * reason, detail, now, then the resend delays (ms) after the 1st, 2nd, …
 * give-up of one version (the last one repeats).
 * Result: {code, giveUps, dueAt}. code "failed": the record held this upload
 * (same uploadId and size, no later attempt) in pending, batched or in flight;
 * it is now failed and indexed. "already": this upload is already failed (a
 * redelivery; nothing changed). "other_upload": the record holds another
 * upload, version or a later attempt (the file moved on). "not_live": no
 * record, or the version was transferred or deleted.
 * Give-ups are counted per version (giveUpsOf = "size:mtimeMs"): the claim
 * and pending scripts leave these fields alone, so the count survives resends
 * and restarts at 1 for a new version.
 */
const FAILED = `
local r = redis.call('HMGET', KEYS[1], 'state', 'uploadId', 'size', 'attempt', 'mtimeMs', 'giveUps', 'giveUpsOf')
local state = r[1]
if not state or state == 'transferred' or state == 'deleted' then return {'not_live', 0, 0} end
if r[2] ~= ARGV[2] or r[3] ~= ARGV[3] then return {'other_upload', 0, 0} end
if state == 'failed' then
  return {'already', tonumber(r[6] or '0'), tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]) or '0')}
end
if tonumber(ARGV[4]) < tonumber(r[4] or '1') then return {'other_upload', 0, 0} end
local version = r[3] .. ':' .. (r[5] or '')
local n = 1
if r[7] == version then n = tonumber(r[6] or '0') + 1 end
local now = tonumber(ARGV[7])
local due = now + tonumber(ARGV[7 + math.min(n, #ARGV - 7)])
redis.call('HSET', KEYS[1], 'state', 'failed', 'attempt', ARGV[4], 'reason', ARGV[5], 'detail', ARGV[6],
  'failedAt', ARGV[7], 'giveUps', n, 'giveUpsOf', version, 'updatedAt', ARGV[7])
redis.call('PERSIST', KEYS[1])
redis.call('ZADD', KEYS[2], due, ARGV[1])
return {'failed', n, due}
`;

/*
 * takeDue — KEYS[1]: failed index. ARGV: now, leaseUntil, limit.
 * Result: the paths whose resend is due (score <= now), oldest first, at most
 * limit. Their score moves to leaseUntil, so another replica does not take
 * them meanwhile and a crashed taker's paths come back when the lease ends.
 */
const TAKE_DUE = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, p in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], p) end
return due
`;

/*
 * deferFailed — KEYS[1]: file key, KEYS[2]: failed index. ARGV: path,
 * uploadId, reason, detail, dueAt.
 * Result: 1 when the record still holds this failed upload (reason, detail
 * and the next resend updated; updatedAt kept: no transition happened), 0
 * otherwise; a record no longer failed also loses its index entry.
 */
const DEFER_FAILED = `
local r = redis.call('HMGET', KEYS[1], 'state', 'uploadId')
if r[1] ~= 'failed' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if r[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'reason', ARGV[3], 'detail', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
return 1
`;

/*
 * pruneFailed — KEYS[1]: failed index, KEYS[2..]: file keys of the paths in
 * ARGV (same order). Removes the index entries whose record is no longer
 * failed (claimed, pending, deleted, expired: the other scripts do not touch
 * the index, so it is cleaned here, lazily). Result: entries removed.
 */
const PRUNE_FAILED = `
local n = 0
for i = 2, #KEYS do
  if redis.call('HGET', KEYS[i], 'state') ~= 'failed' then n = n + redis.call('ZREM', KEYS[1], ARGV[i - 1]) end
end
return n
`;

/** The part of a record that says which version is where (the sweep's lookup). */
export type VersionRecord = Pick<FileRecord, 'state' | 'size' | 'mtimeMs' | 'updatedAt'>;

interface LedgerCommands {
  terraLedgerClaim(numKeys: number, ...args: Array<string | number>): Promise<string[]>;
  terraLedgerTransition(...args: Array<string | number>): Promise<number>;
  terraLedgerInFlight(numKeys: number, ...args: Array<string | number>): Promise<number>;
  terraLedgerPending(numKeys: number, ...args: Array<string | number>): Promise<number[]>;
  terraLedgerVersions(numKeys: number, ...keys: string[]): Promise<Array<string | null>>;
  terraLedgerFailed(...args: Array<string | number>): Promise<[string, number, number]>;
  terraLedgerTakeDue(...args: Array<string | number>): Promise<string[]>;
  terraLedgerDeferFailed(...args: Array<string | number>): Promise<number>;
  terraLedgerPruneFailed(numKeys: number, ...args: string[]): Promise<number>;
}

/** A give-up as the watcher reports it (file.failed carries no mtime: the upload id and size name the version). */
export interface GiveUp {
  path: string;
  uploadId: string;
  size: number;
  /** The attempt that was given up (the record may not hold a later one). */
  attempts: number;
  reason: string;
  detail: string;
}

/** What markFailed did (closed set; see the FAILED script). */
export type MarkFailedResult =
  | { outcome: 'failed'; giveUps: number; resendAt: number }
  | { outcome: 'already'; giveUps: number; resendAt: number }
  | { outcome: 'other_upload' }
  | { outcome: 'not_live' };

/** A failed record as operators see it. */
export interface FailedRecord extends FileRecord {
  detail: string;
  /** ms since the epoch of the give-up. */
  failedAt: number;
  /** Give-ups of this version so far. */
  giveUps: number;
  /** When the next resend is due (ms since the epoch); while a resend is being attempted, when that attempt's lease ends. */
  resendAt: number;
}

type Fields = Partial<Record<'taskId' | 'batchId' | 'checksum' | 'reason' | 'attempt' | 'uploadId', string | number>>;

/**
 * Where every file is. All writes are single atomic Redis steps (Lua); every
 * step is safe to repeat, because every caller may be redelivered.
 */
export class FileLedger {
  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
    /** How long a record stays after the file was deleted from the cache (then the path is forgotten). */
    private readonly deletedTtlMs = 30 * 24 * 3600 * 1000,
    /**
     * The site whose failed files this ledger indexes (`<prefix>:files:failed:<site>`): each site's
     * cleaner resends its own. Without it, one index for the whole prefix (`<prefix>:files:failed`).
     */
    private readonly failedIndexSite?: string,
  ) {
    client.defineCommand('terraLedgerClaim', { lua: CLAIM });
    client.defineCommand('terraLedgerTransition', { numberOfKeys: 1, lua: TRANSITION });
    client.defineCommand('terraLedgerInFlight', { lua: IN_FLIGHT });
    client.defineCommand('terraLedgerPending', { lua: PENDING });
    client.defineCommand('terraLedgerVersions', { lua: VERSIONS });
    client.defineCommand('terraLedgerFailed', { numberOfKeys: 2, lua: FAILED });
    client.defineCommand('terraLedgerTakeDue', { numberOfKeys: 1, lua: TAKE_DUE });
    client.defineCommand('terraLedgerDeferFailed', { numberOfKeys: 2, lua: DEFER_FAILED });
    client.defineCommand('terraLedgerPruneFailed', { lua: PRUNE_FAILED });
    this.redis = client as Redis & LedgerCommands;
  }

  private readonly redis: Redis & LedgerCommands;

  key(path: string): string {
    return `${this.prefix}:file:${path}`;
  }

  /** Sorted set of the failed paths, score = when their resend is due (ms). */
  get failedIndexKey(): string {
    return this.failedIndexSite === undefined ? `${this.prefix}:files:failed` : `${this.prefix}:files:failed:${this.failedIndexSite}`;
  }

  async get(path: string): Promise<FileRecord | null> {
    return parse(path, await this.redis.hgetall(this.key(path)));
  }

  async getMany(paths: readonly string[]): Promise<Array<FileRecord | null>> {
    if (paths.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const p of paths) pipe.hgetall(this.key(p));
    const res = (await pipe.exec()) ?? [];
    return res.map(([err, h], i) => {
      if (err) throw err;
      return parse(paths[i]!, h as Record<string, string>);
    });
  }

  /** Records that a file.uploaded for this version was published (log-tailer, sweep, resends); atomic, and never moves a version that is further along back. */
  async notePending(f: ClaimFile, now = Date.now()): Promise<boolean> {
    return (await this.notePendingMany([f], now))[0] === true;
  }

  /** notePending for many files in one atomic step. */
  async notePendingMany(files: readonly ClaimFile[], now = Date.now()): Promise<boolean[]> {
    if (files.length === 0) return [];
    const args: Array<string | number> = [now];
    for (const f of files) args.push(f.size, f.mtimeMs, f.uploadId, f.attempt, f.site, f.sensor);
    const res = await this.redis.terraLedgerPending(files.length, ...files.map((f) => this.key(f.path)), ...args);
    return res.map((r) => r === 1);
  }

  /** Which version is where, for many paths at once (one read-only script call). */
  async getVersions(paths: readonly string[]): Promise<Array<VersionRecord | null>> {
    if (paths.length === 0) return [];
    const flat = await this.redis.terraLedgerVersions(paths.length, ...paths.map((p) => this.key(p)));
    const out: Array<VersionRecord | null> = new Array(paths.length);
    for (let i = 0; i < paths.length; i++) {
      const state = flat[i * 4];
      out[i] = state && (FILE_STATES as readonly string[]).includes(state)
        ? { state: state as FileState, size: Number(flat[i * 4 + 1]), mtimeMs: Number(flat[i * 4 + 2]), updatedAt: Number(flat[i * 4 + 3] ?? 0) }
        : null;
    }
    return out;
  }

  /**
   * Claims files for a batch, atomically per call. Each file may say when the
   * disk was seen holding its version (or the file missing); without it the
   * claim counts as seen now, on disk.
   */
  async claim(batchId: string, files: ReadonlyArray<ClaimFile & Partial<ClaimSighting>>, now = Date.now()): Promise<ClaimResult[]> {
    if (files.length === 0) return [];
    const args: Array<string | number> = [batchId, now, this.deletedTtlMs];
    for (const f of files) args.push(f.size, f.mtimeMs, f.uploadId, f.attempt, f.site, f.sensor, f.seenAt ?? now, f.onDisk === false ? '0' : '1');
    const res = await this.redis.terraLedgerClaim(files.length, ...files.map((f) => this.key(f.path)), ...args);
    return res.map((r, i) => {
      const path = files[i]!.path;
      if (r === 'claimed' || r === 'transferred' || r === 'superseded' || r === 'vanished') return { path, outcome: r };
      if (r.startsWith('in_batch:')) return { path, outcome: 'in_batch', batchId: r.slice(9) };
      return { path, outcome: 'in_flight', taskId: r.slice(10) };
    });
  }

  /**
   * batched → in_flight once Globus accepted the batch's task, for the records
   * this batch's claim still holds (atomically per call of MARK_MANY files, not
   * one call per file); a path another batch claimed meanwhile is left to it.
   * Returns how many moved.
   */
  async markInFlight(paths: readonly string[], batchId: string, taskId: string, now = Date.now()): Promise<number> {
    let moved = 0;
    for (let i = 0; i < paths.length; i += MARK_MANY) {
      const keys = paths.slice(i, i + MARK_MANY).map((p) => this.key(p));
      moved += await this.redis.terraLedgerInFlight(keys.length, ...keys, batchId, taskId, now);
    }
    return moved;
  }

  /** in_flight → transferred (Globus reported the file among successful_transfers); with `version`, only while the record is about it. */
  markTransferred(path: string, taskId: string, checksum: string | null, now = Date.now(), version?: FileVersion): Promise<boolean> {
    return this.transition(path, ['batched', 'in_flight', 'pending'], 'transferred', { taskId, checksum: checksum ?? '' }, now, 0, version);
  }

  /** in_flight → pending with the next attempt (task failed; a retry event is being published). */
  markRequeued(path: string, attempt: number, reason: string, now = Date.now()): Promise<boolean> {
    return this.transition(path, ['batched', 'in_flight'], 'pending', { attempt, reason, batchId: '', taskId: '' }, now);
  }

  /**
   * pending | batched | in_flight → failed (the watcher gave the upload up),
   * only while the record still holds that upload; indexed for a resend after
   * `resendDelaysMs[giveUps - 1]` (the last delay repeats). A redelivery is a no-op.
   */
  async markFailed(g: GiveUp, resendDelaysMs: readonly number[], now = Date.now()): Promise<MarkFailedResult> {
    if (resendDelaysMs.length === 0) throw new Error('markFailed: at least one resend delay is needed');
    const [code, giveUps, resendAt] = await this.redis.terraLedgerFailed(
      this.key(g.path), this.failedIndexKey, g.path, g.uploadId, g.size, g.attempts, g.reason, g.detail, now, ...resendDelaysMs,
    );
    if (code === 'failed' || code === 'already') return { outcome: code, giveUps: Number(giveUps), resendAt: Number(resendAt) };
    return { outcome: code as 'other_upload' | 'not_live' };
  }

  /** Takes up to `limit` failed paths whose resend is due, leased until `leaseUntil` (another replica skips them meanwhile). */
  takeDueFailed(now: number, leaseUntil: number, limit: number): Promise<string[]> {
    return this.redis.terraLedgerTakeDue(this.failedIndexKey, now, leaseUntil, limit);
  }

  /** Keeps a failed upload failed with a new reason and next resend time; false when the record moved on. */
  async deferFailed(path: string, uploadId: string, reason: string, detail: string, resendAt: number): Promise<boolean> {
    return (await this.redis.terraLedgerDeferFailed(this.key(path), this.failedIndexKey, path, uploadId, reason, detail, resendAt)) === 1;
  }

  /** Drops index entries of these paths whose record is no longer failed; returns how many. */
  async pruneFailed(paths: readonly string[]): Promise<number> {
    if (paths.length === 0) return 0;
    return this.redis.terraLedgerPruneFailed(paths.length + 1, this.failedIndexKey, ...paths.map((p) => this.key(p)), ...paths);
  }

  /** Makes the resend of these failed paths (all of them when omitted) due at `now`; returns how many were in the index. */
  async resendFailedNow(paths: readonly string[] | undefined, now = Date.now()): Promise<number> {
    const targets = paths ?? (await this.redis.zrange(this.failedIndexKey, 0, -1));
    let n = 0;
    for (let i = 0; i < targets.length; i += 500) {
      const pipe = this.redis.pipeline();
      // XX: only paths already in the index (failed ones); the score read back tells whether it was.
      for (const p of targets.slice(i, i + 500)) pipe.zadd(this.failedIndexKey, 'XX', now, p).zscore(this.failedIndexKey, p);
      const res = (await pipe.exec()) ?? [];
      for (let j = 1; j < res.length; j += 2) if (res[j]![1] !== null) n++;
    }
    return n;
  }

  /**
   * Counts the failed files exactly: walks the whole index, dropping entries
   * whose record moved on (the index is cleaned lazily), then counts it.
   */
  async countFailed(): Promise<number> {
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.zscan(this.failedIndexKey, cursor, 'COUNT', 500);
      cursor = next;
      const paths = flat.filter((_, i) => i % 2 === 0);
      await this.pruneFailed(paths);
    } while (cursor !== '0');
    return this.redis.zcard(this.failedIndexKey);
  }

  /**
   * The site's records by state (every state present, 0 when none): one SCAN of the prefix's
   * record keys (`<prefix>:file:*`, COUNT `batch` a step) reading each record's state and site.
   * Exact, and right after any failure or expiry, as no count is kept beside the records; it
   * costs one pass over the ledger (see docs/decisions/0021), so callers run it on an interval.
   */
  async countByState(site: string, batch = 1000): Promise<Record<FileState, number>> {
    const counts = Object.fromEntries(FILE_STATES.map((s) => [s, 0])) as Record<FileState, number>;
    const match = `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}:file:*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', match, 'COUNT', batch);
      cursor = next;
      if (keys.length === 0) continue;
      const pipe = this.redis.pipeline();
      for (const k of keys) pipe.hmget(k, 'state', 'site');
      for (const [err, reply] of (await pipe.exec()) ?? []) {
        if (err) throw err;
        const [state, recordSite] = reply as [string | null, string | null];
        if (recordSite === site && state && state in counts) counts[state as FileState]++;
      }
    } while (cursor !== '0');
    return counts;
  }

  /** The record of a failed file with its give-up details; null when the path is not failed. */
  async getFailed(path: string): Promise<FailedRecord | null> {
    const [h, score] = await Promise.all([this.redis.hgetall(this.key(path)), this.redis.zscore(this.failedIndexKey, path)]);
    return failedRecord(path, h, score === null ? null : Number(score));
  }

  /** One page of the failed files, soonest resend first. Entries whose record moved on are left out (so a page may be short). */
  async listFailed(offset: number, limit: number): Promise<{ total: number; items: FailedRecord[] }> {
    const [flat, total] = await Promise.all([this.redis.zrange(this.failedIndexKey, offset, offset + limit - 1, 'WITHSCORES'), this.redis.zcard(this.failedIndexKey)]);
    const paths: string[] = [];
    const scores: number[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      paths.push(flat[i]!);
      scores.push(Number(flat[i + 1]));
    }
    if (paths.length === 0) return { total, items: [] };
    const pipe = this.redis.pipeline();
    for (const p of paths) pipe.hgetall(this.key(p));
    const res = (await pipe.exec()) ?? [];
    const items: FailedRecord[] = [];
    res.forEach(([err, h], i) => {
      if (err) throw err;
      const r = failedRecord(paths[i]!, h as Record<string, string>, scores[i]!);
      if (r) items.push(r);
    });
    return { total, items };
  }

  /**
   * → deleted, from any state but deleted and failed: the cleaner deletes only
   * after it verified the file.transferred event against the file itself, and
   * the watcher (possibly at another site, with its own Redis) never writes
   * here. The record then expires after the configured TTL; a redelivery is a no-op.
   */
  markDeleted(path: string, version: FileVersion, taskId: string, checksum: string | null, now = Date.now()): Promise<boolean> {
    return this.transition(path, ['pending', 'batched', 'in_flight', 'transferred'], 'deleted', { taskId, checksum: checksum ?? '' }, now, this.deletedTtlMs, version);
  }

  /** markDeleted for many files in one round trip (a pipeline: each file's transition is its own atomic step). */
  markDeletedMany(files: ReadonlyArray<{ path: string; version: FileVersion; taskId: string; checksum: string | null }>, now = Date.now()): Promise<boolean[]> {
    return this.transitionMany(files.map((f) => ({ path: f.path, version: f.version, fields: { taskId: f.taskId, checksum: f.checksum ?? '' } })), ['pending', 'batched', 'in_flight', 'transferred'], 'deleted', now, this.deletedTtlMs);
  }

  /** markTransferred for many files in one round trip (a pipeline: each file's transition is its own atomic step). */
  markTransferredMany(files: ReadonlyArray<{ path: string; version: FileVersion; taskId: string; checksum: string | null }>, now = Date.now()): Promise<boolean[]> {
    return this.transitionMany(files.map((f) => ({ path: f.path, version: f.version, fields: { taskId: f.taskId, checksum: f.checksum ?? '' } })), ['batched', 'in_flight', 'pending'], 'transferred', now, 0);
  }

  private async transitionMany(items: ReadonlyArray<{ path: string; version: FileVersion; fields: Fields }>, from: readonly FileState[], to: FileState, now: number, ttlMs: number): Promise<boolean[]> {
    if (items.length === 0) return [];
    const pipe = this.redis.pipeline() as unknown as { terraLedgerTransition(...args: Array<string | number>): void; exec(): Promise<Array<[Error | null, unknown]> | null> };
    for (const i of items) {
      const flat = Object.entries(i.fields).flatMap(([k, v]) => [k, String(v)]);
      pipe.terraLedgerTransition(this.key(i.path), from.join(','), to, now, ttlMs, String(i.version.size), String(i.version.mtimeMs), ...flat);
    }
    const res = (await pipe.exec()) ?? [];
    return res.map(([err, r]) => {
      if (err) throw err;
      return r === 1;
    });
  }

  private async transition(path: string, from: readonly FileState[] | '*', to: FileState, fields: Fields, now: number, ttlMs = 0, version?: FileVersion): Promise<boolean> {
    const flat = Object.entries(fields).flatMap(([k, v]) => [k, String(v)]);
    const v = version ? [String(version.size), String(version.mtimeMs)] : ['', ''];
    return (await this.redis.terraLedgerTransition(this.key(path), from === '*' ? '*' : from.join(','), to, now, ttlMs, ...v, ...flat)) === 1;
  }
}

function failedRecord(path: string, h: Record<string, string> | null | undefined, resendAt: number | null): FailedRecord | null {
  const r = parse(path, h);
  if (!h || r?.state !== 'failed') return null;
  return { ...r, detail: h['detail'] ?? '', failedAt: Number(h['failedAt'] ?? r.updatedAt), giveUps: Number(h['giveUps'] ?? 1), resendAt: resendAt ?? 0 };
}

function parse(path: string, h: Record<string, string> | null | undefined): FileRecord | null {
  if (!h || !h['state']) return null;
  const state = h['state'] as FileState;
  if (!FILE_STATES.includes(state)) return null;
  const opt = (v: string | undefined) => (v ? v : null);
  return {
    path,
    state,
    size: Number(h['size']),
    mtimeMs: Number(h['mtimeMs']),
    uploadId: h['uploadId'] ?? '',
    attempt: Number(h['attempt'] ?? 1),
    site: h['site'] ?? '',
    sensor: h['sensor'] ?? '',
    batchId: opt(h['batchId']),
    taskId: opt(h['taskId']),
    checksum: opt(h['checksum']),
    reason: opt(h['reason']),
    updatedAt: Number(h['updatedAt'] ?? 0),
  };
}
