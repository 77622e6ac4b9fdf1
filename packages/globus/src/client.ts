import { setTimeout as wait } from 'node:timers/promises';
import got, { type Got } from 'got';
import type { Logger } from 'pino';
import { TokenSource, TRANSFER_SCOPE, type TokenResponse } from './auth.js';
import { GlobusError, globusCode } from './errors.js';
import { RateLimiter } from './rate-limit.js';
import type { RequestBudget } from './request-budget.js';
import { decideRetry, SDK_RETRY_POLICY, type RetryPolicy } from './retry.js';
import type {
  CancelResult, EventList, MarkerPage, SkippedError, SubmitResult, SuccessfulTransfer, Task, TaskList, TaskSummary, TransferDocument,
} from './types.js';

/** Our bounded names of the Globus calls (metric label values). */
export type GlobusEndpoint =
  | 'token' | 'submission_id' | 'transfer' | 'task' | 'task_list' | 'successful_transfers' | 'skipped_errors' | 'event_list' | 'cancel';

/** What happened to one HTTP attempt: `ok`; `retry` (will be retried, 401 renewals included); `error` (given up). */
export type CallOutcome = 'ok' | 'retry' | 'error';

export interface CallInfo {
  status: number;
  /** Globus's own code (upstreamCode): for logs, never a metric label. */
  code: string | undefined;
  attempt: number;
  durationMs: number;
}

export interface GlobusClientOptions {
  /** Globus Auth base URL, e.g. https://auth.globus.org (the token endpoint is `${authUrl}/v2/oauth2/token`). */
  authUrl: string;
  /** Transfer API base URL including the version, e.g. https://transfer.api.globus.org/v0.10. */
  transferUrl: string;
  clientId: string;
  clientSecret: string;
  /** Scopes to request (space-joined); default: the transfer scope. Use `transferScope([...collections])` for mapped collections. */
  scopes?: readonly string[];
  /** Client-side limit on Transfer API requests per second (Globus allows 20 per user). 0 disables. Ignored when `budget` is given. */
  rateLimitPerSec?: number;
  /** A request budget shared with the identity's other processes (`SharedRequestBudget`); replaces the local `rateLimitPerSec` limiter. */
  budget?: RequestBudget;
  /** HTTP timeout per attempt (the SDK's is 60 s). */
  timeoutMs?: number;
  retryPolicy?: Partial<RetryPolicy>;
  logger?: Logger;
  /** Called once per HTTP attempt, for metrics (count calls by endpoint and outcome). */
  onCall?: (endpoint: GlobusEndpoint, outcome: CallOutcome, info: CallInfo) => void;
  /** Injectable for tests (retry sleeps). */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface TaskListQuery {
  /** Globus filter syntax: `key:v1,v2/key2:...` (task_id, status, type, label, request_time, completion_time). */
  filter?: string;
  fields?: readonly string[];
  orderby?: string;
  limit?: number;
  offset?: number;
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Input to `submitTransfer`: the TransferData document; the submission id is fetched if absent (the SDK's behaviour), but persist your own for crash-safe retries. */
export type TransferInput = Omit<TransferDocument, 'submission_id' | 'DATA_TYPE'> & { submission_id?: string; DATA_TYPE?: 'transfer' };

const MAX_TASK_LIST_TOTAL = 1000;
/**
 * Task ids per `task_id:` filter. The Transfer API documents at most 50 ids
 * for that filter (on its endpoint-manager task listing; we assume the same
 * bound on task_list), and the simulator refuses more with a 400.
 */
export const TASK_IDS_PER_FILTER = 50;

/**
 * Globus Auth (client credentials) + Transfer API v0.10. The same client
 * talks to Globus or to services/globus-sim: only the base URLs differ.
 * Every call goes through one path: rate limit → bearer token → HTTP →
 * (401: renew once) → SDK retry policy → typed GlobusError.
 */
export class GlobusClient {
  private readonly http: Got;
  private readonly tokens: TokenSource;
  private readonly limiter: RequestBudget;
  private readonly policy: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly transferUrl: string;
  private readonly authUrl: string;

  constructor(private readonly opts: GlobusClientOptions) {
    this.transferUrl = opts.transferUrl.replace(/\/+$/, '');
    this.authUrl = opts.authUrl.replace(/\/+$/, '');
    this.policy = { ...SDK_RETRY_POLICY, ...opts.retryPolicy };
    this.sleep = opts.sleep ?? ((ms) => wait(ms));
    this.limiter = opts.budget ?? new RateLimiter(opts.rateLimitPerSec ?? 20);
    this.http = got.extend({
      throwHttpErrors: false,
      retry: { limit: 0 },
      followRedirect: false,
      responseType: 'text',
      timeout: { request: opts.timeoutMs ?? 60_000 },
      headers: { accept: 'application/json', 'user-agent': 'terra-transfer-globus/0.1' },
    });
    this.tokens = new TokenSource(() => this.fetchToken(), opts.now ?? Date.now);
  }

  // ---- Transfer API ----

  /** GET /submission_id: a fresh id to persist before POST /transfer, so a retry after a crash gives Duplicate. */
  async submissionId(): Promise<string> {
    const body = await this.call<{ value: string }>('submission_id', 'GET', '/submission_id');
    return body.value;
  }

  /**
   * POST /transfer with the whole TransferData document. Accepted (202) and
   * Duplicate (200, a re-post of a known submission_id) both succeed and
   * return the task id. Retries send the same body, hence the same submission_id.
   */
  async submitTransfer(input: TransferInput): Promise<SubmitResult> {
    const doc: TransferDocument = { ...input, DATA_TYPE: 'transfer', submission_id: input.submission_id ?? (await this.submissionId()) } as TransferDocument;
    const body = await this.call<{ code: string; task_id: string; submission_id: string; request_id: string }>('transfer', 'POST', '/transfer', { json: omitUndefined(doc) });
    if (body.code !== 'Accepted' && body.code !== 'Duplicate') {
      throw new GlobusError({ endpoint: 'transfer', status: 200, code: 'GLOBUS_BAD_RESULT', upstreamCode: 'BAD_RESPONSE', message: `unexpected result code ${String(body.code)}`, requestId: body.request_id });
    }
    return { code: body.code, taskId: body.task_id, submissionId: body.submission_id ?? doc.submission_id, requestId: body.request_id };
  }

  /** GET /task/{id}. A 404 (unknown or very old task) throws GlobusError with `isNotFound`. */
  getTask(taskId: string): Promise<Task> {
    return this.call<Task>('task', 'GET', `/task/${encodeURIComponent(taskId)}`);
  }

  /** One page of GET /task_list. */
  taskList(q: TaskListQuery = {}): Promise<TaskList> {
    const searchParams: Record<string, string> = {};
    if (q.filter) searchParams['filter'] = q.filter;
    if (q.fields?.length) searchParams['fields'] = q.fields.join(',');
    if (q.orderby) searchParams['orderby'] = q.orderby;
    if (q.limit !== undefined) searchParams['limit'] = String(q.limit);
    if (q.offset !== undefined) searchParams['offset'] = String(q.offset);
    return this.call<TaskList>('task_list', 'GET', '/task_list', { searchParams });
  }

  /** Every task matching `q.filter`, paging until offset ≥ total (capped at Globus's 1000 results). */
  async taskListAll(q: Omit<TaskListQuery, 'offset'> = {}): Promise<TaskSummary[]> {
    const out: TaskSummary[] = [];
    const limit = q.limit ?? 1000;
    for (let offset = 0; offset < MAX_TASK_LIST_TOTAL; ) {
      const page = await this.taskList({ ...q, limit: Math.min(limit, MAX_TASK_LIST_TOTAL - offset), offset });
      out.push(...page.DATA);
      offset += page.DATA.length;
      if (page.DATA.length === 0 || offset >= page.total) break;
    }
    return out;
  }

  /**
   * Polls many tasks with one `task_list?filter=task_id:a,b,c&fields=...` call
   * per `TASK_IDS_PER_FILTER` (50) ids (instead of one GET per task). Ids Globus does not know are
   * simply absent from the result.
   */
  async tasksById(taskIds: readonly string[], fields?: readonly string[]): Promise<TaskSummary[]> {
    const out: TaskSummary[] = [];
    const f = fields && !fields.includes('task_id') ? ['task_id', ...fields] : fields;
    for (let i = 0; i < taskIds.length; i += TASK_IDS_PER_FILTER) {
      const ids = taskIds.slice(i, i + TASK_IDS_PER_FILTER);
      out.push(...(await this.taskListAll({ filter: `task_id:${ids.join(',')}`, ...(f ? { fields: f } : {}) })));
    }
    return out;
  }

  /** GET /task/{id}/event_list (offset paging); `errorsOnly` adds filter=is_error:1. The list can be empty. */
  eventList(taskId: string, opts: { limit?: number; offset?: number; errorsOnly?: boolean } = {}): Promise<EventList> {
    const searchParams: Record<string, string> = { limit: String(opts.limit ?? 10), offset: String(opts.offset ?? 0) };
    if (opts.errorsOnly) searchParams['filter'] = 'is_error:1';
    return this.call<EventList>('event_list', 'GET', `/task/${encodeURIComponent(taskId)}/event_list`, { searchParams });
  }

  /** Successful transfers of a finished task, page by page (marker paging until next_marker is null). 400 while the task is ACTIVE. */
  successfulTransfers(taskId: string): AsyncGenerator<SuccessfulTransfer[]> {
    return this.markerPages<SuccessfulTransfer>('successful_transfers', taskId);
  }

  skippedErrors(taskId: string): AsyncGenerator<SkippedError[]> {
    return this.markerPages<SkippedError>('skipped_errors', taskId);
  }

  async allSuccessfulTransfers(taskId: string): Promise<SuccessfulTransfer[]> {
    const out: SuccessfulTransfer[] = [];
    for await (const page of this.successfulTransfers(taskId)) out.push(...page);
    return out;
  }

  async allSkippedErrors(taskId: string): Promise<SkippedError[]> {
    const out: SkippedError[] = [];
    for await (const page of this.skippedErrors(taskId)) out.push(...page);
    return out;
  }

  /** POST /task/{id}/cancel. `Canceled`, or `TaskComplete` if it had already finished: re-GET the task for its final state. */
  async cancelTask(taskId: string): Promise<CancelResult> {
    const body = await this.call<{ code: string; message: string; request_id: string }>('cancel', 'POST', `/task/${encodeURIComponent(taskId)}/cancel`, { json: {} });
    return { code: body.code, message: body.message, requestId: body.request_id };
  }

  private async *markerPages<T>(endpoint: 'successful_transfers' | 'skipped_errors', taskId: string): AsyncGenerator<T[]> {
    let marker: number | null = 0;
    while (marker !== null) {
      const page: MarkerPage<T> = await this.call<MarkerPage<T>>(endpoint, 'GET', `/task/${encodeURIComponent(taskId)}/${endpoint}`, { searchParams: { marker: String(marker) } });
      yield page.DATA;
      marker = page.next_marker ?? null;
    }
  }

  // ---- the one request path ----

  private async call<T>(endpoint: GlobusEndpoint, method: 'GET' | 'POST', path: string, req: { json?: unknown; searchParams?: Record<string, string> } = {}): Promise<T> {
    let renewed = false;
    for (let attempt = 0; ; attempt++) {
      await this.limiter.acquire();
      const token = await this.tokens.token();
      const started = performance.now();
      const res = await this.send(endpoint, {
        method,
        url: `${this.transferUrl}${path}`,
        headers: { authorization: `Bearer ${token}` },
        ...(req.json !== undefined ? { json: req.json } : {}),
        ...(req.searchParams ? { searchParams: req.searchParams } : {}),
      });
      const durationMs = performance.now() - started;
      if ('body' in res && res.status >= 200 && res.status < 300) {
        this.report(endpoint, 'ok', { status: res.status, code: undefined, attempt, durationMs });
        return this.parse<T>(endpoint, res);
      }
      const failure = 'body' in res ? this.errorOf(endpoint, res) : res.error;
      // A 401 means our token is no longer accepted (expired early, revoked): renew once, retry at once.
      if (failure.status === 401 && !renewed) {
        renewed = true;
        this.tokens.invalidate(token);
        this.report(endpoint, 'retry', { status: 401, code: failure.upstreamCode, attempt, durationMs });
        this.opts.logger?.info({ endpoint, requestId: failure.requestId }, 'globus token rejected; renewing once');
        continue;
      }
      const decision = decideRetry({ status: failure.status, code: failure.upstreamCode, retryAfter: 'headers' in res ? header(res.headers, 'retry-after') : undefined }, attempt, this.policy);
      if (!decision.retry) {
        this.report(endpoint, 'error', { status: failure.status, code: failure.upstreamCode, attempt, durationMs });
        throw failure;
      }
      this.report(endpoint, 'retry', { status: failure.status, code: failure.upstreamCode, attempt, durationMs });
      this.opts.logger?.warn({ endpoint, status: failure.status, code: failure.upstreamCode, requestId: failure.requestId, attempt, delayMs: Math.round(decision.delayMs) }, 'globus call failed; retrying');
      await this.sleep(decision.delayMs);
    }
  }

  private async fetchToken(): Promise<TokenResponse> {
    const basic = Buffer.from(`${this.opts.clientId}:${this.opts.clientSecret}`).toString('base64');
    const form = new URLSearchParams({ grant_type: 'client_credentials', scope: (this.opts.scopes ?? [TRANSFER_SCOPE]).join(' ') }).toString();
    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      const res = await this.send('token', {
        method: 'POST',
        url: `${this.authUrl}/v2/oauth2/token`,
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      });
      const durationMs = performance.now() - started;
      if ('body' in res && res.status === 200) {
        this.report('token', 'ok', { status: 200, code: undefined, attempt, durationMs });
        return this.parse<TokenResponse>('token', res);
      }
      const failure = 'body' in res ? this.authErrorOf(res) : res.error;
      const decision = failure.status === 401 || failure.status === 400 ? ({ retry: false } as const) : decideRetry({ status: failure.status, code: failure.upstreamCode, retryAfter: 'headers' in res ? header(res.headers, 'retry-after') : undefined }, attempt, this.policy);
      if (!decision.retry) {
        this.report('token', 'error', { status: failure.status, code: failure.upstreamCode, attempt, durationMs });
        throw failure;
      }
      this.report('token', 'retry', { status: failure.status, code: failure.upstreamCode, attempt, durationMs });
      this.opts.logger?.warn({ endpoint: 'token', status: failure.status, code: failure.upstreamCode, attempt }, 'globus auth call failed; retrying');
      await this.sleep(decision.delayMs);
    }
  }

  /** One HTTP exchange; never throws: a network failure comes back as a GlobusError with status 0. */
  private async send(endpoint: GlobusEndpoint, o: { method: 'GET' | 'POST'; url: string; headers: Record<string, string>; json?: unknown; body?: string; searchParams?: Record<string, string> }): Promise<RawResponse | { error: GlobusError }> {
    try {
      const r = await this.http(o.url, {
        method: o.method,
        headers: o.headers,
        ...(o.json !== undefined ? { json: o.json } : {}),
        ...(o.body !== undefined ? { body: o.body } : {}),
        ...(o.searchParams ? { searchParams: o.searchParams } : {}),
      });
      return { status: r.statusCode, headers: r.headers, body: r.body };
    } catch (err) {
      // Only the error's code and message travel: got's error object holds the request headers (our token).
      const e = err as { code?: string; message?: string };
      return { error: new GlobusError({ endpoint, status: 0, code: 'GLOBUS_NETWORK', upstreamCode: 'NETWORK', message: `${e.code ?? 'ERROR'} ${e.message ?? ''}`.trim() }) };
    }
  }

  private parse<T>(endpoint: GlobusEndpoint, res: RawResponse): T {
    try {
      return JSON.parse(res.body) as T;
    } catch {
      throw new GlobusError({ endpoint, status: res.status, code: 'GLOBUS_NOT_JSON', upstreamCode: 'BAD_RESPONSE', message: 'response is not JSON' });
    }
  }

  /** Globus error body: code and message are trusted only when both are strings and the response is JSON (as the SDK does). */
  private errorOf(endpoint: GlobusEndpoint, res: RawResponse): GlobusError {
    const body = jsonBody(res);
    const code = typeof body?.['code'] === 'string' && typeof body['message'] === 'string' ? body['code'] : `HTTP.${res.status}`;
    const message = typeof body?.['message'] === 'string' ? body['message'] : `HTTP ${res.status}`;
    const requestId = typeof body?.['request_id'] === 'string' ? body['request_id'] : undefined;
    return new GlobusError({ endpoint, status: res.status, code: globusCode(res.status, code), upstreamCode: code, message, requestId, body });
  }

  /** Auth errors come OAuth-style (`{"error":"invalid_client"}`) or as `{"errors":[{code,detail}]}`; parse both. */
  private authErrorOf(res: RawResponse): GlobusError {
    const body = jsonBody(res);
    const first = Array.isArray(body?.['errors']) ? (body['errors'][0] as Record<string, unknown> | undefined) : undefined;
    const raw = typeof body?.['error'] === 'string' ? body['error'] : typeof first?.['code'] === 'string' ? first['code'] : `HTTP.${res.status}`;
    const message = typeof body?.['error_description'] === 'string' ? body['error_description'] : typeof first?.['detail'] === 'string' ? first['detail'] : `token request refused (${raw})`;
    const code = res.status >= 500 || res.status === 429 ? 'GLOBUS_AUTH_UNAVAILABLE' : 'GLOBUS_AUTH_REJECTED';
    return new GlobusError({ endpoint: 'token', status: res.status, code, upstreamCode: `AUTH.${raw}`, message, body });
  }

  private report(endpoint: GlobusEndpoint, outcome: CallOutcome, info: CallInfo): void {
    try {
      this.opts.onCall?.(endpoint, outcome, info);
    } catch {
      // A metrics hook must never break a Globus call.
    }
  }
}

function header(h: RawResponse['headers'], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function jsonBody(res: RawResponse): Record<string, unknown> | undefined {
  const ct = header(res.headers, 'content-type') ?? '';
  if (!ct.includes('application/json')) return undefined;
  try {
    const v = JSON.parse(res.body) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The SDK omits unset fields rather than sending null. */
function omitUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
