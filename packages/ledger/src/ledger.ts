import type { Redis } from 'ioredis';
import { FILE_STATES, type FileRecord, type FileState, type FileVersion } from './states.js';

export interface ClaimFile extends FileVersion {
  path: string;
  uploadId: string;
  attempt: number;
  site: string;
  sensor: string;
}

/** Outcome of claiming one file for a batch. */
export type ClaimResult =
  | { path: string; outcome: 'claimed' }
  | { path: string; outcome: 'in_batch'; batchId: string }
  | { path: string; outcome: 'in_flight'; taskId: string }
  | { path: string; outcome: 'transferred' };

/*
 * claim — KEYS: one file key per file. ARGV: batchId, now, then 6 per file
 * (size, mtimeMs, uploadId, attempt, site, sensor).
 * Result: one string per file: "claimed" | "in_batch:<batchId>" |
 * "in_flight:<taskId>" | "transferred". A version already batched, in flight
 * or transferred is not claimed again, unless the claim carries a higher
 * attempt (the watcher sent it back after its task failed); a claim by the
 * same batch is a no-op success (redelivery).
 */
const CLAIM = `
local batch = ARGV[1]
local now = ARGV[2]
local out = {}
for i, key in ipairs(KEYS) do
  local b = 2 + (i - 1) * 6
  local size, mtime = ARGV[b + 1], ARGV[b + 2]
  local r = redis.call('HMGET', key, 'state', 'size', 'mtimeMs', 'batchId', 'taskId', 'attempt')
  local state = r[1]
  local same = state and r[2] == size and r[3] == mtime
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
  else
    redis.call('HSET', key, 'state', 'batched', 'size', size, 'mtimeMs', mtime, 'uploadId', ARGV[b + 3],
      'attempt', ARGV[b + 4], 'site', ARGV[b + 5], 'sensor', ARGV[b + 6], 'batchId', batch, 'taskId', '',
      'checksum', '', 'reason', '', 'updatedAt', now)
    redis.call('PERSIST', key)
    out[i] = 'claimed'
  end
end
return out
`;

/*
 * transition — KEYS[1]: file key. ARGV: from (comma-separated states, or "*"),
 * to, now, ttlMs (0 = keep), then field/value pairs to set.
 * Result: 1 if moved, 0 if the record was not in one of the `from` states
 * (or did not exist), so a redelivered step is a no-op.
 */
const TRANSITION = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
if ARGV[1] ~= '*' then
  local ok = false
  for s in string.gmatch(ARGV[1], '[^,]+') do if s == state then ok = true end end
  if not ok then return 0 end
end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'updatedAt', ARGV[3])
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) else redis.call('PERSIST', KEYS[1]) end
return 1
`;

interface LedgerCommands {
  terraLedgerClaim(numKeys: number, ...args: Array<string | number>): Promise<string[]>;
  terraLedgerTransition(...args: Array<string | number>): Promise<number>;
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
  ) {
    client.defineCommand('terraLedgerClaim', { lua: CLAIM });
    client.defineCommand('terraLedgerTransition', { numberOfKeys: 1, lua: TRANSITION });
    this.redis = client as Redis & LedgerCommands;
  }

  private readonly redis: Redis & LedgerCommands;

  key(path: string): string {
    return `${this.prefix}:file:${path}`;
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

  /** Records that a file.uploaded for this version was published (log-tailer, sweep, retries). Never moves a record backwards for the same version. */
  async notePending(f: ClaimFile, now = Date.now()): Promise<void> {
    const k = this.key(f.path);
    const cur = await this.redis.hmget(k, 'state', 'size', 'mtimeMs');
    if (cur[0] && cur[0] !== 'pending' && cur[0] !== 'failed' && cur[1] === String(f.size) && cur[2] === String(f.mtimeMs)) return;
    await this.redis.hset(k, { state: 'pending', size: f.size, mtimeMs: f.mtimeMs, uploadId: f.uploadId, attempt: f.attempt, site: f.site, sensor: f.sensor, batchId: '', taskId: '', checksum: '', reason: '', updatedAt: now });
    await this.redis.persist(k);
  }

  /** Claims files for a batch, atomically per call. */
  async claim(batchId: string, files: readonly ClaimFile[], now = Date.now()): Promise<ClaimResult[]> {
    if (files.length === 0) return [];
    const args: Array<string | number> = [batchId, now];
    for (const f of files) args.push(f.size, f.mtimeMs, f.uploadId, f.attempt, f.site, f.sensor);
    const res = await this.redis.terraLedgerClaim(files.length, ...files.map((f) => this.key(f.path)), ...args);
    return res.map((r, i) => {
      const path = files[i]!.path;
      if (r === 'claimed') return { path, outcome: 'claimed' };
      if (r === 'transferred') return { path, outcome: 'transferred' };
      if (r.startsWith('in_batch:')) return { path, outcome: 'in_batch', batchId: r.slice(9) };
      return { path, outcome: 'in_flight', taskId: r.slice(10) };
    });
  }

  /** batched → in_flight once Globus accepted the batch's task. */
  markInFlight(paths: readonly string[], batchId: string, taskId: string, now = Date.now()): Promise<number> {
    return this.many(paths, (p) => this.transition(p, ['batched'], 'in_flight', { taskId, batchId }, now));
  }

  /** in_flight → transferred (Globus reported the file among successful_transfers). */
  markTransferred(path: string, taskId: string, checksum: string | null, now = Date.now()): Promise<boolean> {
    return this.transition(path, ['batched', 'in_flight', 'pending'], 'transferred', { taskId, checksum: checksum ?? '' }, now);
  }

  /** in_flight → pending with the next attempt (task failed; a retry event is being published). */
  markRequeued(path: string, attempt: number, reason: string, now = Date.now()): Promise<boolean> {
    return this.transition(path, ['batched', 'in_flight'], 'pending', { attempt, reason, batchId: '', taskId: '' }, now);
  }

  /** → failed (attempts exhausted). */
  markFailed(path: string, reason: string, now = Date.now()): Promise<boolean> {
    return this.transition(path, ['batched', 'in_flight', 'pending'], 'failed', { reason }, now);
  }

  /**
   * → deleted, from any state but deleted and failed: the cleaner deletes only
   * after it verified the file.transferred event against the file itself, and
   * the watcher (possibly at another site, with its own Redis) never writes
   * here. The record then expires after the configured TTL; a redelivery is a no-op.
   */
  markDeleted(path: string, taskId: string, checksum: string | null, now = Date.now()): Promise<boolean> {
    return this.transition(path, ['pending', 'batched', 'in_flight', 'transferred'], 'deleted', { taskId, checksum: checksum ?? '' }, now, this.deletedTtlMs);
  }

  private async transition(path: string, from: readonly FileState[] | '*', to: FileState, fields: Fields, now: number, ttlMs = 0): Promise<boolean> {
    const flat = Object.entries(fields).flatMap(([k, v]) => [k, String(v)]);
    return (await this.redis.terraLedgerTransition(this.key(path), from === '*' ? '*' : from.join(','), to, now, ttlMs, ...flat)) === 1;
  }

  private async many(paths: readonly string[], step: (p: string) => Promise<boolean>): Promise<number> {
    const done = await Promise.all(paths.map(step));
    return done.filter(Boolean).length;
  }
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
