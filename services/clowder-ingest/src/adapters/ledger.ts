import { RedisLocks, TransientError, type Redis } from '@terra-transfer/platform';

export type Kind = 'space' | 'collection' | 'dataset';

/** Releases a held lock; `held()` asks Redis whether the caller still owns it (its fencing token is still there). */
export type Lock = (() => Promise<void>) & { held: () => Promise<boolean> };

/**
 * Records an id once: the first writer wins and everyone reads the winner,
 * so two workers that (after a lost lock) created two records still agree.
 * KEYS[1] = hash; ARGV[1] = field; ARGV[2] = id. Returns the stored id.
 */
const SET_ONCE = `redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) return redis.call('HGET', KEYS[1], ARGV[1])`;

/**
 * What makes ingest exactly-once where Clowder enforces nothing: the name → id
 * map per (kind, scope), per-dataset file records (path → file id), the
 * upload intents (paths being registered: after a crash or a lost reply, the
 * next owner checks listFiles for them), the metadata-attached flags, and
 * short creation locks with fencing tokens.
 */
/**
 * Records file ids and versions, first writer wins per path, and clears their
 * intents: one script (atomic, as a MULTI of HSETNXs and an SREM was, in one
 * command instead of two per file).
 * KEYS[1] = files hash, KEYS[2] = versions hash, KEYS[3] = intent set;
 * ARGV = path, id, version ('' for none), repeated.
 */
const RECORD_FILES = `
for i = 1, #ARGV, 3 do
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
  if ARGV[i + 2] ~= '' then redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 2]) end
  redis.call('SREM', KEYS[3], ARGV[i])
end
return 1`;

export class Ledger {
  private readonly locks: RedisLocks;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly lockTtlMs: number,
    private readonly lockWaitMs: number,
  ) {
    redis.defineCommand('terraSetOnce', { numberOfKeys: 1, lua: SET_ONCE });
    redis.defineCommand('terraIngestRecordFiles', { numberOfKeys: 3, lua: RECORD_FILES });
    this.locks = new RedisLocks(redis);
  }

  private key(...parts: string[]): string {
    return `${this.prefix}:clowder-ingest:${parts.join(':')}`;
  }

  /** Space names are global; collection and dataset names are scoped by space. */
  async getId(kind: Kind, scope: string, name: string): Promise<string | undefined> {
    return (await this.redis.hget(this.key('ids', kind, scope), name)) ?? undefined;
  }

  async getIds(kind: Kind, scope: string, names: readonly string[]): Promise<Array<string | undefined>> {
    if (names.length === 0) return [];
    return (await this.redis.hmget(this.key('ids', kind, scope), ...names)).map((v) => v ?? undefined);
  }

  async setId(kind: Kind, scope: string, name: string, id: string): Promise<string> {
    return (await (this.redis as unknown as { terraSetOnce: (k: string, f: string, v: string) => Promise<string> }).terraSetOnce(this.key('ids', kind, scope), name, id));
  }

  /** File ids already recorded for these paths of a dataset (undefined where none). */
  async fileIds(datasetId: string, paths: readonly string[]): Promise<Array<string | undefined>> {
    if (paths.length === 0) return [];
    return (await this.redis.hmget(this.key('files', datasetId), ...paths)).map((v) => v ?? undefined);
  }

  /** False when Redis has no file record for the dataset (a new dataset, or Redis lost its data). */
  async hasFileRecords(datasetId: string): Promise<boolean> {
    return (await this.redis.exists(this.key('files', datasetId))) === 1;
  }

  /** Records file ids and their versions (first writer wins per path) and clears their intents, atomically (one script). */
  async recordFiles(datasetId: string, ids: ReadonlyMap<string, string>, versions: ReadonlyMap<string, string> = new Map()): Promise<void> {
    if (ids.size === 0) return;
    const args: string[] = [];
    for (const [path, id] of ids) args.push(path, id, versions.get(path) ?? '');
    const record = (this.redis as unknown as { terraIngestRecordFiles: (...a: string[]) => Promise<number> }).terraIngestRecordFiles;
    try {
      await record.call(this.redis, this.key('files', datasetId), this.key('versions', datasetId), this.key('intent', datasetId), ...args);
    } catch (err) {
      throw new TransientError('REDIS_WRITE', `recording file ids failed: ${String(err)}`, { cause: err });
    }
  }

  /** The versions recorded for these paths (undefined where none: not registered, or registered before versions were kept). */
  async fileVersions(datasetId: string, paths: readonly string[]): Promise<Array<string | undefined>> {
    if (paths.length === 0) return [];
    return (await this.redis.hmget(this.key('versions', datasetId), ...paths)).map((v) => v ?? undefined);
  }

  /** Records versions where none is recorded (first writer wins, as for file ids). */
  async adoptVersions(datasetId: string, versions: ReadonlyMap<string, string>): Promise<void> {
    if (versions.size === 0) return;
    const m = this.redis.multi();
    for (const [path, v] of versions) m.hsetnx(this.key('versions', datasetId), path, v);
    await exec(m, 'recording file versions');
  }

  /**
   * Replacements in progress (path → the old file id and the version being
   * registered), written before the new version is registered: whoever finds
   * one left over asks listFiles what was done before registering again.
   */
  async replacements(datasetId: string): Promise<Map<string, { oldId: string; version: string }>> {
    const all = await this.redis.hgetall(this.key('replace', datasetId));
    const out = new Map<string, { oldId: string; version: string }>();
    for (const [path, raw] of Object.entries(all)) {
      try {
        const r = JSON.parse(raw) as { oldId?: unknown; version?: unknown };
        if (typeof r.oldId === 'string' && typeof r.version === 'string') out.set(path, { oldId: r.oldId, version: r.version });
      } catch {
        // not ours: ignored, and overwritten by the next replacement of the path
      }
    }
    return out;
  }

  async addReplacements(datasetId: string, work: ReadonlyMap<string, { oldId: string; version: string }>): Promise<void> {
    if (work.size === 0) return;
    await this.redis.hset(this.key('replace', datasetId), Object.fromEntries([...work].map(([p, r]) => [p, JSON.stringify(r)])));
  }

  async clearReplacements(datasetId: string, paths: readonly string[]): Promise<void> {
    if (paths.length) await this.redis.hdel(this.key('replace', datasetId), ...paths);
  }

  /** A path's new file id and version replace the old ones, and its replacement intent goes, in one transaction. */
  async recordReplaced(datasetId: string, done: ReadonlyMap<string, { id: string; version: string }>): Promise<void> {
    if (done.size === 0) return;
    const m = this.redis.multi();
    for (const [path, r] of done) {
      m.hset(this.key('files', datasetId), path, r.id);
      m.hset(this.key('versions', datasetId), path, r.version);
    }
    m.hdel(this.key('replace', datasetId), ...done.keys());
    await exec(m, 'recording replaced files');
  }

  /** Paths whose registration was started and not recorded (a crash or a lost reply in between). */
  async intents(datasetId: string): Promise<string[]> {
    return this.redis.smembers(this.key('intent', datasetId));
  }

  async addIntents(datasetId: string, paths: readonly string[]): Promise<void> {
    if (paths.length) await this.redis.sadd(this.key('intent', datasetId), ...paths);
  }

  async clearIntents(datasetId: string, paths: readonly string[]): Promise<void> {
    if (paths.length) await this.redis.srem(this.key('intent', datasetId), ...paths);
  }

  async metadataAttached(datasetId: string): Promise<boolean> {
    return (await this.redis.exists(this.key('metadata', datasetId))) === 1;
  }

  /**
   * The attached flag and the metadata intent (set before posting metadata: whoever finds it left over asks
   * Clowder before posting again), in one command (read under the metadata lock).
   */
  async metadataState(datasetId: string): Promise<{ attached: boolean; intent: boolean }> {
    const [attached, intent] = await this.redis.mget(this.key('metadata', datasetId), this.key('metadata-intent', datasetId));
    return { attached: attached !== null, intent: intent !== null };
  }

  async setMetadataIntent(datasetId: string): Promise<void> {
    await this.redis.set(this.key('metadata-intent', datasetId), '1');
  }

  /** Sets the attached flag and clears the intent, in one transaction. */
  async markMetadataAttached(datasetId: string, metadataPath: string): Promise<void> {
    const res = await this.redis.multi().set(this.key('metadata', datasetId), metadataPath).del(this.key('metadata-intent', datasetId)).exec();
    if (!res || res.some(([err]) => err)) throw new TransientError('REDIS_WRITE', 'recording the metadata flag failed');
  }

  /**
   * Takes the lock `name` (platform's RedisLock: a fresh fencing token,
   * renewed while held), waiting up to `lockWaitMs`; resolves to its release
   * function.
   */
  async lock(name: string, signal?: AbortSignal): Promise<Lock> {
    const lock = await this.locks.take(this.key('lock', name), { ttlMs: this.lockTtlMs, waitMs: this.lockWaitMs, ...(signal ? { signal } : {}) });
    if (!lock) throw new TransientError('LOCK_TIMEOUT', `lock ${name} still held after ${this.lockWaitMs} ms`);
    // A holder frozen past the TTL (GC, CPU starvation) was not renewed: another may hold the lock now.
    return Object.assign(() => lock.release(), { held: () => lock.held() });
  }
}

async function exec(m: ReturnType<Redis['multi']>, what: string): Promise<void> {
  const res = await m.exec();
  const failed = res?.find(([err]) => err);
  if (!res || failed) throw new TransientError('REDIS_WRITE', `${what} failed: ${String(failed?.[0] ?? 'transaction aborted')}`);
}
