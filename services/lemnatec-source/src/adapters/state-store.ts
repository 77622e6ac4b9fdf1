import type { Redis } from 'ioredis';
import type { Cursor } from '../core/cursor.js';

export type FileState = 'sent' | 'failed';

export interface SnapshotState {
  folder: string | null;
  meta: boolean;
  files: Map<string, FileState>;
}

/**
 * The source's durable state, in Redis, per site and experiment database
 * (`<prefix>:lemnatec-source:<site>:<db>:…`):
 * - `cursor` (hash maxId, maxTimeMs): where the next poll resumes;
 * - `taken` (zset id → time_stamp ms): snapshots already taken into work, so
 *   the overlap window never takes one twice; pruned past two windows;
 * - `open` (set): ids seen while `completed = false`, looked at until they complete;
 * - `work` (zset): taken snapshots not yet wholly published (resumed at start);
 * - `snap:<id>` (hash): its folder, `meta` once metadata.json's event was
 *   confirmed, `f:<file>` = sent | failed once that file's event was confirmed;
 * - `staged` (zset): wholly published snapshots whose staged files are not all cleaned yet.
 * Site-wide, `names` (hash folder → `<db>:<id>`) holds which snapshot owns a
 * dataset folder, so two snapshots of one instant get two datasets.
 * A snapshot is taken (taken + work, one MULTI) before the cursor moves past
 * it, and a file is marked only after the broker confirmed its event: a crash
 * anywhere republishes at most the unconfirmed files, under the same upload ids.
 */
export class StateStore {
  private readonly base: string;

  constructor(private readonly redis: Redis, prefix: string, site: string) {
    this.base = `${prefix}:lemnatec-source:${site}`;
  }

  private k(db: string, what: string): string {
    return `${this.base}:${db}:${what}`;
  }

  async cursor(db: string): Promise<Cursor> {
    const h = await this.redis.hgetall(this.k(db, 'cursor'));
    return { maxId: Number(h['maxId'] ?? 0), maxTimeMs: Number(h['maxTimeMs'] ?? 0) };
  }

  async saveCursor(db: string, c: Cursor): Promise<void> {
    await this.redis.hset(this.k(db, 'cursor'), { maxId: String(c.maxId), maxTimeMs: String(c.maxTimeMs) });
  }

  async taken(db: string, ids: readonly number[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const scores = await this.redis.zmscore(this.k(db, 'taken'), ...ids.map(String));
    return scores.map((s) => s !== null);
  }

  async take(db: string, rows: ReadonlyArray<{ id: number; timeMs: number }>): Promise<void> {
    if (rows.length === 0) return;
    const m = this.redis.multi();
    for (const r of rows) {
      m.zadd(this.k(db, 'taken'), r.timeMs, String(r.id));
      m.zadd(this.k(db, 'work'), r.id, String(r.id));
      m.srem(this.k(db, 'open'), String(r.id));
    }
    await m.exec();
  }

  async addOpen(db: string, ids: readonly number[]): Promise<void> {
    if (ids.length > 0) await this.redis.sadd(this.k(db, 'open'), ...ids.map(String));
  }

  async openIds(db: string): Promise<number[]> {
    return (await this.redis.smembers(this.k(db, 'open'))).map(Number);
  }

  async forgetTaken(db: string, beforeMs: number): Promise<void> {
    if (beforeMs > 0) await this.redis.zremrangebyscore(this.k(db, 'taken'), '-inf', `(${beforeMs}`);
  }

  async work(db: string): Promise<number[]> {
    return (await this.redis.zrange(this.k(db, 'work'), 0, -1)).map(Number);
  }

  async snapshot(db: string, id: number): Promise<SnapshotState> {
    return snapshotState(await this.redis.hgetall(this.k(db, `snap:${id}`)));
  }

  /** Several snapshots' records in one round trip. */
  async snapshots(db: string, ids: readonly number[]): Promise<SnapshotState[]> {
    if (ids.length === 0) return [];
    const p = this.redis.pipeline();
    for (const id of ids) p.hgetall(this.k(db, `snap:${id}`));
    const res = (await p.exec()) ?? [];
    return res.map(([err, h]) => {
      if (err) throw err;
      return snapshotState(h as Record<string, string>);
    });
  }


  /** The snapshot's folder: the one it claimed before, else the first of folder(1), folder(2), … no other snapshot owns. */
  async claimFolder(db: string, id: number, folder: (n: number) => string): Promise<string> {
    const owner = `${db}:${id}`;
    const had = await this.redis.hget(this.k(db, `snap:${id}`), 'folder');
    if (had) return had;
    for (let n = 1; ; n++) {
      const f = folder(n);
      const set = await this.redis.hsetnx(`${this.base}:names`, f, owner);
      if (set === 1 || (await this.redis.hget(`${this.base}:names`, f)) === owner) {
        await this.redis.hset(this.k(db, `snap:${id}`), 'folder', f);
        return f;
      }
    }
  }

  async markMeta(db: string, id: number): Promise<void> {
    await this.redis.hset(this.k(db, `snap:${id}`), 'meta', '1');
  }

  async markFile(db: string, id: number, file: string, state: FileState): Promise<void> {
    await this.redis.hset(this.k(db, `snap:${id}`), `f:${file}`, state);
  }

  async finish(db: string, id: number): Promise<void> {
    await this.redis.multi().zrem(this.k(db, 'work'), String(id)).zadd(this.k(db, 'staged'), id, String(id)).exec();
  }

  async staged(db: string, limit: number): Promise<number[]> {
    return (await this.redis.zrange(this.k(db, 'staged'), 0, limit - 1)).map(Number);
  }

  /** The snapshot's staging is clean: its record goes (taken keeps it from being taken again). */
  async forget(db: string, id: number): Promise<void> {
    await this.redis.multi().del(this.k(db, `snap:${id}`)).zrem(this.k(db, 'staged'), String(id)).exec();
  }
}

function snapshotState(h: Record<string, string>): SnapshotState {
  const files = new Map<string, FileState>();
  for (const [f, v] of Object.entries(h)) if (f.startsWith('f:')) files.set(f.slice(2), v as FileState);
  return { folder: h['folder'] ?? null, meta: h['meta'] === '1', files };
}
