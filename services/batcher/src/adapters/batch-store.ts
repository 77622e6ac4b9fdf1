import type { Redis } from 'ioredis';
import type { TaskFile } from '@terra-transfer/contracts';

/**
 * A batch's states, a closed set:
 *   stored    manifest written and its files claimed (their deliveries may be acked); nothing
 *             sent to Globus yet, or no answer seen. The submission_id is fetched from Globus
 *             and persisted in this state, before the first POST.
 *   accepted  Globus answered Accepted/Duplicate with this task id
 *   notified  the files are marked in flight and the watcher was told; the batch is closed
 *   empty     every file turned out to be in flight, transferred or superseded already; closed
 *   rejected  Globus refused the document for good; its files were given up (file.failed); closed
 * Each transition is one atomic Redis step (a Lua script below) that checks
 * the state it starts from:
 *   (none)   → stored                 create
 *   stored   → accepted               accepted
 *   accepted → notified               close('notified')
 *   stored   → empty | rejected       close('empty' | 'rejected')
 * A transition from any other state is refused (the result says so and the
 * caller counts it), never applied; repeating a transition that already
 * happened answers `already`. The recovery at start drives every open batch
 * forward from where it stopped.
 */
export type BatchState = 'stored' | 'accepted' | 'notified' | 'empty' | 'rejected';

/**
 * What a transition did (closed set):
 *   moved     the batch was in the starting state and is now in the new one
 *   already   the batch is in the new state already (a repeated step); nothing changed
 *   refused   the batch is in another state (or has no manifest): nothing changed
 */
export type BatchTransition = { outcome: 'moved' } | { outcome: 'already' } | { outcome: 'refused'; state: BatchState | null };

type ClosedState = 'notified' | 'empty' | 'rejected';
/** Where each closing transition starts. */
const CLOSE_FROM: Record<ClosedState, BatchState> = { notified: 'accepted', empty: 'stored', rejected: 'stored' };

/*
 * create — KEYS[1]: batch key, KEYS[2]: open set. ARGV: batchId, createdAt,
 * then field/value pairs of the manifest.
 * Result: "moved" (no batch → stored, indexed as open) | "refused:<state>"
 * (a batch of that id exists).
 */
const CREATE = `
local state = redis.call('HGET', KEYS[1], 'state')
if state then return 'refused:' .. state end
redis.call('HSET', KEYS[1], 'state', 'stored', unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 'moved'
`;

/*
 * accept — KEYS[1]: batch key. ARGV: taskId, acceptedAt.
 * Result: "moved" (stored → accepted, with the task id) | "already" (accepted
 * with this task id) | "refused:<state>" (another state, another task id, or
 * no manifest: "refused:").
 */
const ACCEPT = `
local r = redis.call('HMGET', KEYS[1], 'state', 'taskId')
if r[1] == 'accepted' and r[2] == ARGV[1] then return 'already' end
if r[1] ~= 'stored' then return 'refused:' .. (r[1] or '') end
redis.call('HSET', KEYS[1], 'state', 'accepted', 'taskId', ARGV[1], 'acceptedAt', ARGV[2])
return 'moved'
`;

/*
 * close — KEYS[1]: batch key, KEYS[2]: open set. ARGV: batchId, from, to, ttlS.
 * Result: "moved" (from → to; the record expires after ttlS and leaves the
 * open set) | "already" (in \`to\` already; expiry and open set made sure) |
 * "refused:<state>" (another state, or no manifest: "refused:").
 */
const CLOSE = `
local state = redis.call('HGET', KEYS[1], 'state')
local out = 'moved'
if state == ARGV[3] then out = 'already'
elseif state ~= ARGV[2] then return 'refused:' .. (state or '') end
redis.call('HSET', KEYS[1], 'state', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[1])
return out
`;

/*
 * update — KEYS[1]: batch key. ARGV: state, then field/value pairs.
 * Result: 1 when the batch was in that state and the fields were set, 0
 * otherwise (a manifest that moved on is never rewritten).
 */
const UPDATE = `
if redis.call('HGET', KEYS[1], 'state') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
`;

interface BatchCommands {
  terraBatchCreate(k1: string, k2: string, ...args: Array<string | number>): Promise<string>;
  terraBatchAccept(k1: string, ...args: Array<string | number>): Promise<string>;
  terraBatchClose(k1: string, k2: string, ...args: Array<string | number>): Promise<string>;
  terraBatchUpdate(k1: string, ...args: Array<string | number>): Promise<number>;
}

function transition(res: string): BatchTransition {
  if (res === 'moved' || res === 'already') return { outcome: res };
  const state = res.slice('refused:'.length);
  return { outcome: 'refused', state: state ? (state as BatchState) : null };
}

export interface Manifest {
  batchId: string;
  state: BatchState;
  /** Null until fetched from Globus (after the manifest is stored, before the first POST). */
  submissionId: string | null;
  destination: string;
  sourceEndpoint: string;
  destinationEndpoint: string;
  label: string;
  deadline: string;
  createdAt: number;
  /** When the cache was looked at for this batch's files (each file's version was the one on disk then). */
  probedAt: number;
  taskId: string | null;
  acceptedAt: number | null;
  files: TaskFile[];
}

const CLOSED_TTL_S = 7 * 24 * 3600;

export class BatchStore {
  private readonly redis: Redis & BatchCommands;

  constructor(
    client: Redis,
    private readonly prefix: string,
  ) {
    client.defineCommand('terraBatchCreate', { numberOfKeys: 2, lua: CREATE });
    client.defineCommand('terraBatchAccept', { numberOfKeys: 1, lua: ACCEPT });
    client.defineCommand('terraBatchClose', { numberOfKeys: 2, lua: CLOSE });
    client.defineCommand('terraBatchUpdate', { numberOfKeys: 1, lua: UPDATE });
    this.redis = client as Redis & BatchCommands;
  }

  private key(id: string): string {
    return `${this.prefix}:batch:${id}`;
  }

  private get openKey(): string {
    return `${this.prefix}:batches:open`;
  }

  /** Writes the manifest (before anything is claimed or submitted); refused when a batch of that id exists. */
  async create(m: Omit<Manifest, 'state' | 'taskId' | 'acceptedAt' | 'submissionId'>): Promise<BatchTransition> {
    const fields = {
      probedAt: m.probedAt, destination: m.destination, sourceEndpoint: m.sourceEndpoint, destinationEndpoint: m.destinationEndpoint,
      label: m.label, deadline: m.deadline, createdAt: m.createdAt, files: JSON.stringify(m.files),
    };
    const flat = Object.entries(fields).flatMap(([k, v]) => [k, String(v)]);
    return transition(await this.redis.terraBatchCreate(this.key(m.batchId), this.openKey, m.batchId, m.createdAt, ...flat));
  }

  async get(id: string): Promise<Manifest | null> {
    const h = await this.redis.hgetall(this.key(id));
    if (!h['state']) return null;
    return {
      batchId: id,
      state: h['state'] as BatchState,
      submissionId: h['submissionId'] || null,
      destination: h['destination']!,
      sourceEndpoint: h['sourceEndpoint']!,
      destinationEndpoint: h['destinationEndpoint']!,
      label: h['label']!,
      deadline: h['deadline']!,
      createdAt: Number(h['createdAt']),
      probedAt: Number(h['probedAt'] ?? h['createdAt']),
      taskId: h['taskId'] || null,
      acceptedAt: h['acceptedAt'] ? Number(h['acceptedAt']) : null,
      files: JSON.parse(h['files'] ?? '[]') as TaskFile[],
    };
  }

  async state(id: string): Promise<BatchState | null> {
    return ((await this.redis.hget(this.key(id), 'state')) as BatchState | null) ?? null;
  }

  /** Open batches, oldest first (recovery). */
  async open(): Promise<string[]> {
    return this.redis.zrange(this.openKey, 0, -1);
  }

  /** Keeps only the files this batch managed to claim; false (nothing written) unless the batch is still `stored`. */
  async setFiles(id: string, files: TaskFile[]): Promise<boolean> {
    return (await this.redis.terraBatchUpdate(this.key(id), 'stored', 'files', JSON.stringify(files))) === 1;
  }

  /**
   * Persists the batch's submission_id unless one is there already (two
   * replicas recovering the same batch), and returns the one that is.
   */
  async setSubmissionId(id: string, submissionId: string): Promise<string> {
    await this.redis.hsetnx(this.key(id), 'submissionId', submissionId);
    const kept = await this.redis.hget(this.key(id), 'submissionId');
    if (!kept) throw new Error(`batch ${id} has no manifest`);
    return kept;
  }

  /** A fresh deadline for a batch still `stored` (its old one passed before Globus took it); false (nothing written) otherwise. */
  async renewDeadline(id: string, deadline: string): Promise<boolean> {
    return (await this.redis.terraBatchUpdate(this.key(id), 'stored', 'deadline', deadline)) === 1;
  }

  /** stored → accepted with Globus' task id. */
  async accepted(id: string, taskId: string, now = Date.now()): Promise<BatchTransition> {
    return transition(await this.redis.terraBatchAccept(this.key(id), taskId, now));
  }

  /** accepted → notified, or stored → empty | rejected; the batch leaves the open set and expires. */
  async close(id: string, state: ClosedState): Promise<BatchTransition> {
    return transition(await this.redis.terraBatchClose(this.key(id), this.openKey, id, CLOSE_FROM[state], state, CLOSED_TTL_S));
  }
}
