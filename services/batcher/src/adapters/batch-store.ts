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
 * Each transition is one atomic Redis step (MULTI), and the recovery at start
 * drives every open batch forward from where it stopped.
 */
export type BatchState = 'stored' | 'accepted' | 'notified' | 'empty' | 'rejected';

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
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(id: string): string {
    return `${this.prefix}:batch:${id}`;
  }

  private get openKey(): string {
    return `${this.prefix}:batches:open`;
  }

  /** Writes the manifest (before anything is claimed or submitted). */
  async create(m: Omit<Manifest, 'state' | 'taskId' | 'acceptedAt' | 'submissionId'>): Promise<void> {
    await this.redis
      .multi()
      .hset(this.key(m.batchId), {
        state: 'stored', probedAt: m.probedAt, destination: m.destination, sourceEndpoint: m.sourceEndpoint,
        destinationEndpoint: m.destinationEndpoint, label: m.label, deadline: m.deadline, createdAt: m.createdAt, files: JSON.stringify(m.files),
      })
      .zadd(this.openKey, m.createdAt, m.batchId)
      .exec()
      .then(check);
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

  /** Keeps only the files this batch managed to claim (still `stored`). */
  async setFiles(id: string, files: TaskFile[]): Promise<void> {
    await this.redis.hset(this.key(id), 'files', JSON.stringify(files));
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

  /** A fresh deadline for a batch still `stored` (its old one passed before Globus took it). */
  async renewDeadline(id: string, deadline: string): Promise<void> {
    await this.redis.hset(this.key(id), 'deadline', deadline);
  }

  async accepted(id: string, taskId: string, now = Date.now()): Promise<void> {
    await this.redis.hset(this.key(id), { state: 'accepted', taskId, acceptedAt: now });
  }

  async close(id: string, state: 'notified' | 'empty' | 'rejected'): Promise<void> {
    await this.redis.multi().hset(this.key(id), 'state', state).expire(this.key(id), CLOSED_TTL_S).zrem(this.openKey, id).exec().then(check);
  }
}

function check(res: Array<[Error | null, unknown]> | null): void {
  if (!res) throw new Error('redis transaction aborted');
  for (const [err] of res) if (err) throw err;
}
