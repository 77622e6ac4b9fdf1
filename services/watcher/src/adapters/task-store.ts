import type { Redis } from 'ioredis';
import type { TaskSubmittedData } from '@terra-transfer/contracts';
import { RedisLease } from '@terra-transfer/platform';

/**
 * A watched task's states, a closed set:
 *   watching    registered; polled every cycle
 *   completing  Globus reported it terminal; its files' events are being published (a restart publishes them again)
 *   closed      every file has its event; `outcome` says how the task ended
 * Transitions are single atomic Redis steps (Lua scripts below), each
 * checking the state it starts from:
 *   (none)     → watching     register
 *   watching   → completing   completing
 *   completing → closed       closed
 * A transition from another state is refused (the result says so and the
 * caller counts it), never applied; repeating one that already happened
 * answers `already`. What a poll saw (observe, cancelled) is written only
 * while the task is watching.
 */
export type TaskState = 'watching' | 'completing' | 'closed';
export const TASK_STATES: readonly TaskState[] = ['watching', 'completing', 'closed'];
export type TaskOutcome = 'SUCCEEDED' | 'FAILED' | 'NOT_FOUND';

/** What a poll cycle needs of a task: everything but its file manifest. */
export type TaskStatus = Omit<TaskRecord, 'data' | 'registeredAt' | 'completedAt' | 'filesTransferred' | 'filesRequeued' | 'filesFailed'>;

const STATUS_FIELDS = ['state', 'globusStatus', 'niceStatus', 'troubledSince', 'troubleReason', 'cancelledFor', 'outcome', 'outcomeReason'] as const;

export interface TaskRecord {
  taskId: string;
  state: TaskState;
  data: TaskSubmittedData;
  registeredAt: number;
  globusStatus: string | null;
  niceStatus: string | null;
  troubledSince: number | null;
  troubleReason: string | null;
  cancelledFor: string | null;
  outcome: TaskOutcome | null;
  outcomeReason: string | null;
  completedAt: number | null;
  filesTransferred: number;
  filesRequeued: number;
  filesFailed: number;
}

/*
 * register — KEYS: task hash, watching set, state zset. ARGV: taskId, data JSON, now.
 * Result: 1 when registered, 0 when the task was known already (idempotent).
 */
const REGISTER = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'watching', 'data', ARGV[2], 'registeredAt', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
`;

/*
 * completing — KEYS: task hash, watching zset, completing zset. ARGV: taskId,
 * now, then field/value pairs (outcome, outcomeReason, globusStatus).
 * Result: "moved" (watching → completing, with the fields) | "already"
 * (completing; its first outcome kept) | "refused:<state>" (closed, or no
 * record: "refused:").
 */
const COMPLETING = `
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'completing' then return 'already' end
if state ~= 'watching' then return 'refused:' .. (state or '') end
redis.call('HSET', KEYS[1], 'state', 'completing', unpack(ARGV, 3))
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 'moved'
`;

/*
 * closed — KEYS: task hash, active set, completing zset, closed zset. ARGV:
 * taskId, now, ttlS, then field/value pairs (completedAt, file counts).
 * Result: "moved" (completing → closed; the record expires after ttlS, and
 * closed entries older than that leave the index) | "already" (closed) |
 * "refused:<state>" (watching, or no record: "refused:").
 */
const CLOSED = `
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'closed' then return 'already' end
if state ~= 'completing' then return 'refused:' .. (state or '') end
redis.call('HSET', KEYS[1], 'state', 'closed', unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[4], 0, tonumber(ARGV[2]) - tonumber(ARGV[3]) * 1000)
return 'moved'
`;

/*
 * observe — KEYS[1]: task hash. ARGV: field/value pairs.
 * Result: 1 when the task is watching and the fields were set, 0 otherwise
 * (a poll's view never lands on a task that moved on).
 */
const OBSERVE = `
if redis.call('HGET', KEYS[1], 'state') ~= 'watching' then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`;

const CLOSED_TTL_S = 30 * 24 * 3600;

/**
 * What a transition did (closed set):
 *   moved     the task was in the starting state and is now in the new one
 *   already   the task is in the new state already (a repeated step); nothing changed
 *   refused   the task is in another state (or unknown): nothing changed
 */
export type TaskTransition = { outcome: 'moved' } | { outcome: 'already' } | { outcome: 'refused'; state: TaskState | null };

function transition(res: string): TaskTransition {
  if (res === 'moved' || res === 'already') return { outcome: res };
  const state = res.slice('refused:'.length);
  return { outcome: 'refused', state: state ? (state as TaskState) : null };
}

const flat = (fields: Record<string, string | number>): string[] => Object.entries(fields).flatMap(([k, v]) => [k, String(v)]);

interface Commands {
  terraWatcherRegister(k1: string, k2: string, k3: string, taskId: string, data: string, now: number): Promise<number>;
  terraWatcherCompleting(k1: string, k2: string, k3: string, ...args: Array<string | number>): Promise<string>;
  terraWatcherClosed(k1: string, k2: string, k3: string, k4: string, ...args: Array<string | number>): Promise<string>;
  terraWatcherObserve(k1: string, ...args: string[]): Promise<number>;
}

export class TaskStore {
  private readonly redis: Redis & Commands;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('terraWatcherRegister', { numberOfKeys: 3, lua: REGISTER });
    redis.defineCommand('terraWatcherCompleting', { numberOfKeys: 3, lua: COMPLETING });
    redis.defineCommand('terraWatcherClosed', { numberOfKeys: 4, lua: CLOSED });
    redis.defineCommand('terraWatcherObserve', { numberOfKeys: 1, lua: OBSERVE });
    this.redis = redis as Redis & Commands;
  }

  /**
   * Competing watchers share the work through leases: `poll` (one instance
   * polls Globus at a time; another takes over when its lease lapses) and
   * `complete:<task id>` (one instance publishes a finished task's events).
   * True when `holder` has the lease (taken or extended).
   */
  lease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return new RedisLease(this.redis, `${this.prefix}:watcher:lease:${name}`, holder).take(ttlMs);
  }

  release(name: string, holder: string): Promise<void> {
    return new RedisLease(this.redis, `${this.prefix}:watcher:lease:${name}`, holder).release();
  }

  private key(id: string): string {
    return `${this.prefix}:task:${id}`;
  }
  private stateKey(s: TaskState): string {
    return `${this.prefix}:tasks:${s}`;
  }
  private get activeKey(): string {
    return `${this.prefix}:tasks:active`;
  }

  async register(data: TaskSubmittedData, now = Date.now()): Promise<boolean> {
    return (await this.redis.terraWatcherRegister(this.key(data.taskId), this.activeKey, this.stateKey('watching'), data.taskId, JSON.stringify(data), now)) === 1;
  }

  /** Tasks not closed (watching or completing). */
  active(): Promise<string[]> {
    return this.redis.smembers(this.activeKey);
  }

  async get(id: string): Promise<TaskRecord | null> {
    const h = await this.redis.hgetall(this.key(id));
    if (!h['state'] || !h['data']) return null;
    const num = (v: string | undefined) => (v ? Number(v) : null);
    return {
      taskId: id,
      state: h['state'] as TaskState,
      data: JSON.parse(h['data']) as TaskSubmittedData,
      registeredAt: Number(h['registeredAt']),
      globusStatus: h['globusStatus'] || null,
      niceStatus: h['niceStatus'] || null,
      troubledSince: num(h['troubledSince']),
      troubleReason: h['troubleReason'] || null,
      cancelledFor: h['cancelledFor'] || null,
      outcome: (h['outcome'] as TaskOutcome) || null,
      outcomeReason: h['outcomeReason'] || null,
      completedAt: num(h['completedAt']),
      filesTransferred: Number(h['filesTransferred'] ?? 0),
      filesRequeued: Number(h['filesRequeued'] ?? 0),
      filesFailed: Number(h['filesFailed'] ?? 0),
    };
  }

  /**
   * The status of many tasks in one pipeline, without their manifests (a
   * manifest holds up to hundreds of files; a poll cycle needs none of them).
   */
  async statuses(ids: readonly string[]): Promise<TaskStatus[]> {
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hmget(this.key(id), ...STATUS_FIELDS);
    const res = (await pipe.exec()) ?? [];
    const out: TaskStatus[] = [];
    res.forEach(([err, v], i) => {
      if (err) throw err;
      const [state, globusStatus, niceStatus, troubledSince, troubleReason, cancelledFor, outcome, outcomeReason] = v as Array<string | null>;
      if (!state) return;
      out.push({
        taskId: ids[i]!, state: state as TaskState, globusStatus: globusStatus || null, niceStatus: niceStatus || null,
        troubledSince: troubledSince ? Number(troubledSince) : null, troubleReason: troubleReason || null, cancelledFor: cancelledFor || null,
        outcome: (outcome as TaskOutcome) || null, outcomeReason: outcomeReason || null,
      });
    });
    return out;
  }

  /** Records what the last poll saw (status, and since when the task is troubled); false (nothing written) unless the task is watching. */
  async observe(id: string, globusStatus: string, niceStatus: string | null, troubledSince: number | null, troubleReason: string | null): Promise<boolean> {
    const fields = { globusStatus, niceStatus: niceStatus ?? '', troubledSince: troubledSince ?? '', troubleReason: troubleReason ?? '' };
    return (await this.redis.terraWatcherObserve(this.key(id), ...flat(fields))) === 1;
  }

  /** Records why the watcher cancels the task; false (nothing written) unless the task is watching. */
  async cancelled(id: string, reason: string): Promise<boolean> {
    return (await this.redis.terraWatcherObserve(this.key(id), 'cancelledFor', reason)) === 1;
  }

  /** watching → completing, with how the task ended. */
  async completing(id: string, outcome: TaskOutcome, reason: string | null, now = Date.now()): Promise<TaskTransition> {
    const fields = { outcome, outcomeReason: reason ?? '', globusStatus: outcome === 'NOT_FOUND' ? 'NOT_FOUND' : outcome };
    return transition(await this.redis.terraWatcherCompleting(this.key(id), this.stateKey('watching'), this.stateKey('completing'), id, now, ...flat(fields)));
  }

  /** completing → closed, with the task's file counts; the record expires after 30 days. */
  async closed(id: string, counts: { transferred: number; requeued: number; failed: number }, now = Date.now()): Promise<TaskTransition> {
    const fields = { completedAt: now, filesTransferred: counts.transferred, filesRequeued: counts.requeued, filesFailed: counts.failed };
    return transition(await this.redis.terraWatcherClosed(this.key(id), this.activeKey, this.stateKey('completing'), this.stateKey('closed'), id, now, CLOSED_TTL_S, ...flat(fields)));
  }

  /** Newest first. */
  async list(state: TaskState, limit: number): Promise<string[]> {
    return this.redis.zrevrange(this.stateKey(state), 0, limit - 1);
  }

  async count(state: TaskState): Promise<number> {
    return this.redis.zcard(this.stateKey(state));
  }

  /** Tasks in each state, from the state indexes in one round trip. */
  async countByState(): Promise<Record<TaskState, number>> {
    const pipe = this.redis.pipeline();
    for (const s of TASK_STATES) pipe.zcard(this.stateKey(s));
    const replies = (await pipe.exec()) ?? [];
    const out = {} as Record<TaskState, number>;
    TASK_STATES.forEach((s, i) => {
      const [err, n] = replies[i] ?? [new Error('no reply')];
      if (err) throw err;
      out[s] = Number(n);
    });
    return out;
  }
}

