import type { Logger } from 'pino';
import type { SkippedError, SuccessfulTransfer, Task, TaskEvent } from '@terra-transfer/globus';
import type { ParsedScope } from '../core/scope.js';
import { isTerminal, type SimTask } from '../core/task-doc.js';
import { Journal } from './journal.js';

export interface TokenInfo {
  token: string;
  clientId: string;
  owner: string;
  scopes: ParsedScope[];
  expiresAtMs: number;
}

/** Journal records (version 1). Replayed in order on start; see docs/globus.md. */
type Rec =
  | { v: 1; op: 'token'; t: TokenInfo }
  | { v: 1; op: 'expire-tokens'; atMs: number }
  | { v: 1; op: 'new'; task: Omit<SimTask, 'events' | 'successful' | 'skipped'> }
  | { v: 1; op: 'doc'; id: string; doc: Task; expanded: boolean; startedMs: number | null }
  | { v: 1; op: 'events'; id: string; events: TaskEvent[] }
  | { v: 1; op: 'st'; id: string; items: SuccessfulTransfer[] }
  | { v: 1; op: 'se'; id: string; items: SkippedError[] };

/**
 * The simulator's state: tasks, submission ids, tokens. In memory, with
 * every change appended to a durable journal when a state directory is
 * configured. Task creation is awaited to disk before 202 is answered (a
 * crash after "Accepted" must still give Duplicate); progress records are
 * group-committed without blocking the copy.
 */
export class Store {
  readonly tasks = new Map<string, SimTask>();
  readonly bySubmission = new Map<string, string>();
  readonly tokens = new Map<string, TokenInfo>();
  /** Unfinished tasks in submission order (the executor's queue). */
  readonly unfinished = new Set<string>();

  /** Records appended since the journal was last compacted. */
  private sinceCompaction = 0;
  private compactions = 0;
  private appended = 0;

  private constructor(
    private readonly journal: Journal | undefined,
    private readonly logger: Logger,
    private readonly compactEvery: number,
    private readonly now: () => number,
  ) {}

  /** `compactEvery`: rewrite the journal as a snapshot once this many records were appended (0 = only at start). */
  static async open(stateDir: string, logger: Logger, nowMs: number, compactEvery = 0, now: () => number = Date.now): Promise<Store> {
    if (stateDir === 'memory') return new Store(undefined, logger, 0, now);
    const { journal, records } = await Journal.open(stateDir);
    const store = new Store(journal, logger, compactEvery, now);
    for (const r of records) store.apply(r as Rec);
    // Compaction: the replayed state becomes the new journal (expired tokens dropped).
    for (const [k, t] of store.tokens) if (t.expiresAtMs < nowMs) store.tokens.delete(k);
    await journal.compact(store.snapshot());
    logger.info({ stateDir, records: records.length, tasks: store.tasks.size, unfinished: store.unfinished.size }, 'state restored');
    return store;
  }

  private apply(r: Rec): void {
    switch (r.op) {
      case 'token':
        this.tokens.set(r.t.token, r.t);
        break;
      case 'expire-tokens':
        for (const t of this.tokens.values()) t.expiresAtMs = Math.min(t.expiresAtMs, r.atMs);
        break;
      case 'new': {
        const task: SimTask = { ...r.task, events: [], successful: [], skipped: [] };
        this.tasks.set(task.doc.task_id, task);
        this.bySubmission.set(task.submissionId, task.doc.task_id);
        if (!isTerminal(task.doc)) this.unfinished.add(task.doc.task_id);
        break;
      }
      case 'doc': {
        const t = this.tasks.get(r.id);
        if (!t) break;
        t.doc = r.doc;
        t.expanded = r.expanded;
        t.startedMs = r.startedMs;
        if (isTerminal(t.doc)) this.unfinished.delete(r.id);
        break;
      }
      case 'events':
        this.tasks.get(r.id)?.events.push(...r.events);
        break;
      case 'st':
        this.tasks.get(r.id)?.successful.push(...r.items);
        break;
      case 'se':
        this.tasks.get(r.id)?.skipped.push(...r.items);
        break;
    }
  }

  /** Journal compactions done while running (not counting the one at start). */
  get liveCompactions(): number {
    return this.compactions;
  }

  /** Records appended to the journal since start. */
  get appendedRecords(): number {
    return this.appended;
  }

  private snapshot(): Rec[] {
    const out: Rec[] = [];
    const now = this.now();
    for (const t of this.tokens.values()) if (t.expiresAtMs >= now) out.push({ v: 1, op: 'token', t });
    for (const task of this.tasks.values()) {
      const { events, successful, skipped, ...rest } = task;
      out.push({ v: 1, op: 'new', task: rest });
      if (events.length) out.push({ v: 1, op: 'events', id: task.doc.task_id, events });
      for (let i = 0; i < successful.length; i += 1000) out.push({ v: 1, op: 'st', id: task.doc.task_id, items: successful.slice(i, i + 1000) });
      if (skipped.length) out.push({ v: 1, op: 'se', id: task.doc.task_id, items: skipped });
    }
    return out;
  }

  private write(r: Rec, durable: boolean): Promise<void> {
    if (!this.journal) return Promise.resolve();
    const p = this.journal.append(r);
    this.appended++;
    if (this.compactEvery > 0 && ++this.sinceCompaction >= this.compactEvery) this.compactLive();
    if (durable) return p;
    p.catch((err: unknown) => this.logger.error({ err, op: r.op }, 'journal write failed'));
    return Promise.resolve();
  }

  /** A long run's journal would grow without bound (progress, events, transfers): rewrite it as the current state. */
  private compactLive(): void {
    const journal = this.journal!;
    this.sinceCompaction = 0;
    const started = performance.now();
    journal.compactLive(() => this.snapshot()).then(
      (done) => {
        if (!done) return;
        this.compactions++;
        this.logger.info({ tasks: this.tasks.size, ms: Math.round(performance.now() - started) }, 'journal compacted');
      },
      (err: unknown) => this.logger.error({ err }, 'journal compaction failed; the journal is kept as it was'),
    );
  }

  /** Durable before it resolves. */
  async createTask(task: SimTask): Promise<void> {
    this.tasks.set(task.doc.task_id, task);
    this.bySubmission.set(task.submissionId, task.doc.task_id);
    this.unfinished.add(task.doc.task_id);
    const { doc, clientId, submissionId, items, deadlineMs, slowMsPerFile, inactiveMs, expanded, startedMs } = task;
    await this.write({ v: 1, op: 'new', task: structuredClone({ doc, clientId, submissionId, items, deadlineMs, slowMsPerFile, ...(inactiveMs ? { inactiveMs } : {}), expanded, startedMs }) }, true);
  }

  /** Records the task document as it is now; terminal states are awaited to disk. */
  saveDoc(task: SimTask): Promise<void> {
    if (isTerminal(task.doc)) this.unfinished.delete(task.doc.task_id);
    return this.write({ v: 1, op: 'doc', id: task.doc.task_id, doc: { ...task.doc }, expanded: task.expanded, startedMs: task.startedMs }, isTerminal(task.doc));
  }

  addEvents(task: SimTask, events: TaskEvent[]): void {
    if (!events.length) return;
    task.events.push(...events);
    void this.write({ v: 1, op: 'events', id: task.doc.task_id, events }, false);
  }

  addSuccessful(task: SimTask, items: SuccessfulTransfer[]): void {
    if (!items.length) return;
    task.successful.push(...items);
    void this.write({ v: 1, op: 'st', id: task.doc.task_id, items }, false);
  }

  addSkipped(task: SimTask, items: SkippedError[]): void {
    if (!items.length) return;
    task.skipped.push(...items);
    void this.write({ v: 1, op: 'se', id: task.doc.task_id, items }, false);
  }

  addToken(t: TokenInfo): Promise<void> {
    this.tokens.set(t.token, t);
    return this.write({ v: 1, op: 'token', t }, true);
  }

  /** The `expire-tokens` fault: every token issued so far stops working now. */
  expireTokens(atMs: number): Promise<void> {
    for (const t of this.tokens.values()) t.expiresAtMs = Math.min(t.expiresAtMs, atMs);
    return this.write({ v: 1, op: 'expire-tokens', atMs }, true);
  }

  async close(): Promise<void> {
    await this.journal?.close();
  }
}
