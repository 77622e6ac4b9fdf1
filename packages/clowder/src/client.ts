import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { randomBytes } from 'node:crypto';
import { urlToHttpOptions } from 'node:url';
import { TRACEPARENT_HEADER, backoffDelay, currentTrace, outgoingTraceparent, sleep } from '@terra-transfer/platform';
import { ClowderProtocolError, ClowderRejectedError, errorDetail, isRetryableStatus, unavailableOrFailed } from './errors.js';
import {
  isObjectId,
  parseCollection,
  parseCollectionSummary,
  parseCreated,
  parseDataset,
  parseFile,
  parseList,
  parseMetadata,
  parseSpace,
  parseUpload,
} from './parse.js';
import type { Collection, CollectionSummary, Dataset, DatasetFile, MetadataRecord, PathPart, Space, UploadedFile } from './types.js';

export interface ClowderClientOptions {
  /** Clowder's base URL, without /api (e.g. https://terraref.ncsa.illinois.edu/clowder). */
  url: string;
  /** API key: sent as X-API-Key (≥1.5) and ?key= (older servers; the commKey works only as ?key=). */
  key: string;
  /**
   * Ask for super-admin mode (`superAdmin=true` on every request): a server
   * admin's key then bypasses ownership and space roles, as the commKey does.
   * Needed with an admin user key on a server where the collections were
   * created by someone else; ignored for non-admin users.
   */
  superAdmin?: boolean;
  /** Optional local account, tried first by Clowder (a wrong password silently falls through to the key). */
  basicAuth?: { user: string; password: string };
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Retries of idempotent requests on 5xx, 429 and connection errors. */
  retries?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Keep-alive sockets per host. */
  maxSockets?: number;
  /** Called before each automatic retry (telemetry). */
  onRetry?: (info: { route: string; attempt: number; status?: number; code?: string }) => void;
}

type Method = 'GET' | 'POST' | 'DELETE' | 'PUT';

interface Call {
  method: Method;
  /** Path under /api/, without leading slash. */
  path: string;
  /** Low-cardinality name of the route, for errors and telemetry. */
  route: string;
  searchParams?: Record<string, string | number | boolean>;
  json?: unknown;
  /** multipart/form-data fields, all named `file` (registerPaths). */
  files?: readonly string[];
  /**
   * Safe to repeat blindly: GETs and Clowder's $addToSet links. Creations,
   * uploads and metadata posts are not (a 504 may hide a success), so they
   * are never retried here; the caller re-checks, then repeats.
   */
  idempotent: boolean;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A client for the Clowder 1.x routes clowder-ingest uses. It smooths the
 * API's quirks (arrays vs strings, `collectionname`, JSON-string and text
 * error bodies, all-string jsonCollection, `{"id"}` vs `{"ids"}`, 200
 * `{"status":"error"}`) and applies the original uploader's retry rule.
 */
export class ClowderClient {
  private readonly agents: { http: HttpAgent; https: HttpsAgent };
  private readonly base: URL;
  private readonly headers: Record<string, string>;
  /** Where every request goes, worked out once: the host's options, the path of /api/ and the query every request carries. */
  private readonly target: { protocol: string; hostname: string; port: string | undefined; auth: string | undefined; apiPath: string; query: string };

  constructor(private readonly opts: ClowderClientOptions) {
    const maxSockets = opts.maxSockets ?? 32;
    this.agents = { http: new HttpAgent({ keepAlive: true, maxSockets }), https: new HttpsAgent({ keepAlive: true, maxSockets }) };
    this.base = new URL(`${opts.url.replace(/\/+$/, '')}/api/`);
    const o = urlToHttpOptions(this.base);
    const query = new URLSearchParams({ key: opts.key, ...(opts.superAdmin ? { superAdmin: 'true' } : {}) }).toString();
    this.target = { protocol: this.base.protocol, hostname: o.hostname ?? this.base.hostname, port: this.base.port || undefined, auth: o.auth ?? undefined, apiPath: this.base.pathname, query };
    this.headers = { 'x-api-key': opts.key };
    if (opts.basicAuth) this.headers['authorization'] = `Basic ${Buffer.from(`${opts.basicAuth.user}:${opts.basicAuth.password}`).toString('base64')}`;
  }

  // ---------------------------------------------------------------- spaces

  /** Spaces named exactly `name`. /api/spaces has no `exact`: the title is an anchored, escaped regex, then compared exactly. */
  async findSpaces(name: string): Promise<Space[]> {
    const v = await this.call({ method: 'GET', path: 'spaces', route: 'GET /spaces', searchParams: { title: `^${escapeRegex(name)}$`, limit: 0 }, idempotent: true });
    return byOldest(parseList(v, 'spaces', parseSpace).filter((s) => s.name === name));
  }

  /** The space with this id (GET /api/spaces/{id}); a ClowderRejectedError when Clowder does not know it. */
  async getSpace(id: string): Promise<Space> {
    return parseSpace(await this.call({ method: 'GET', path: `spaces/${id}`, route: 'GET /spaces/{id}', idempotent: true }));
  }

  async createSpace(name: string, description: string): Promise<string> {
    return parseCreated(await this.call({ method: 'POST', path: 'spaces', route: 'POST /spaces', json: { name, description }, idempotent: false }), 'space');
  }

  // ----------------------------------------------------------- collections

  /** Collections named exactly `name` (exact=true, and compared again: older servers ignore `exact`), oldest (smallest id) first. */
  async findCollections(name: string): Promise<CollectionSummary[]> {
    const v = await this.call({ method: 'GET', path: 'collections', route: 'GET /collections', searchParams: { title: name, exact: true, limit: 0 }, idempotent: true });
    return byOldest(parseList(v, 'collections', parseCollectionSummary).filter((c) => c.name === name));
  }

  async getCollection(id: string): Promise<Collection> {
    return parseCollection(await this.call({ method: 'GET', path: `collections/${oid(id)}`, route: 'GET /collections/:id', idempotent: true }));
  }

  async childCollections(id: string): Promise<Collection[]> {
    const v = await this.call({ method: 'GET', path: `collections/${oid(id)}/getChildCollections`, route: 'GET /collections/:id/getChildCollections', idempotent: true });
    return parseList(v, 'child collections', parseCollection);
  }

  async collectionDatasets(id: string): Promise<Dataset[]> {
    const v = await this.call({ method: 'GET', path: `collections/${oid(id)}/datasets`, route: 'GET /collections/:id/datasets', idempotent: true });
    return parseList(v, 'collection datasets', parseDataset);
  }

  /** POST /api/collections: here `space` is a string (an unknown space id is a 500 in Clowder). */
  async createCollection(c: { name: string; description?: string; space?: string }): Promise<string> {
    const json: Record<string, string> = { name: c.name, description: c.description ?? '' };
    if (c.space) json['space'] = oid(c.space);
    return parseCreated(await this.call({ method: 'POST', path: 'collections', route: 'POST /collections', json, idempotent: false }), 'collection');
  }

  /** newCollectionWithParent: `{"id"}` even when the parent is missing (then silently unlinked); with `space` it becomes a root collection of that space. */
  async createCollectionWithParent(c: { name: string; description?: string; parentId?: string; space?: string }): Promise<string> {
    const json: Record<string, string> = { name: c.name, description: c.description ?? '' };
    if (c.parentId) json['parentId'] = oid(c.parentId);
    if (c.space) json['space'] = oid(c.space);
    return parseCreated(await this.call({ method: 'POST', path: 'collections/newCollectionWithParent', route: 'POST /collections/newCollectionWithParent', json, idempotent: false }), 'collection');
  }

  /** $addToSet on both sides: safe to repeat. */
  async addSubCollection(parentId: string, childId: string): Promise<void> {
    await this.call({ method: 'POST', path: `collections/${oid(parentId)}/addSubCollection/${oid(childId)}`, route: 'POST /collections/:p/addSubCollection/:c', idempotent: true });
  }

  async addDatasetToCollection(collectionId: string, datasetId: string): Promise<void> {
    await this.call({ method: 'POST', path: `collections/${oid(collectionId)}/datasets/${oid(datasetId)}`, route: 'POST /collections/:c/datasets/:d', idempotent: true });
  }

  async addCollectionToSpace(spaceId: string, collectionId: string): Promise<void> {
    await this.call({ method: 'POST', path: `spaces/${oid(spaceId)}/addCollectionToSpace/${oid(collectionId)}`, route: 'POST /spaces/:s/addCollectionToSpace/:c', idempotent: true });
  }

  async addDatasetToSpace(spaceId: string, datasetId: string): Promise<void> {
    await this.call({ method: 'POST', path: `spaces/${oid(spaceId)}/addDatasetToSpace/${oid(datasetId)}`, route: 'POST /spaces/:s/addDatasetToSpace/:d', idempotent: true });
  }

  // -------------------------------------------------------------- datasets

  /** Datasets named exactly `name`, oldest first. */
  async findDatasets(name: string): Promise<Dataset[]> {
    const v = await this.call({ method: 'GET', path: 'datasets', route: 'GET /datasets', searchParams: { title: name, exact: true, limit: 0 }, idempotent: true });
    return byOldest(parseList(v, 'datasets', parseDataset).filter((d) => d.name === name));
  }

  /** Datasets whose name matches `title`, Clowder's case-insensitive unanchored regex search (regex characters in `title` are the caller's), oldest first. */
  async searchDatasets(title: string): Promise<Dataset[]> {
    const v = await this.call({ method: 'GET', path: 'datasets', route: 'GET /datasets', searchParams: { title, limit: 0 }, idempotent: true });
    return byOldest(parseList(v, 'datasets', parseDataset));
  }

  async getDataset(id: string): Promise<Dataset> {
    return parseDataset(await this.call({ method: 'GET', path: `datasets/${oid(id)}`, route: 'GET /datasets/:id', idempotent: true }));
  }

  /** createempty: `space` and `collection` MUST be arrays (a string is silently ignored by Clowder). */
  async createDataset(d: { name: string; description?: string; spaces?: string[]; collections?: string[] }): Promise<string> {
    const json: Record<string, unknown> = { name: d.name, description: d.description ?? '' };
    if (d.spaces?.length) json['space'] = d.spaces.map(oid);
    if (d.collections?.length) json['collection'] = d.collections.map(oid);
    return parseCreated(await this.call({ method: 'POST', path: 'datasets/createempty', route: 'POST /datasets/createempty', json, idempotent: false }), 'dataset');
  }

  /** removeCollection: its child collections and datasets are unlinked, not deleted. */
  async deleteCollection(id: string): Promise<void> {
    await this.call({ method: 'DELETE', path: `collections/${oid(id)}`, route: 'DELETE /collections/:id', idempotent: true });
  }

  async deleteDataset(id: string): Promise<void> {
    await this.call({ method: 'DELETE', path: `datasets/${oid(id)}`, route: 'DELETE /datasets/:id', idempotent: true });
  }

  /** Files directly in the dataset; `filepath` is present only for Admin callers (use the commKey). */
  async listFiles(datasetId: string): Promise<DatasetFile[]> {
    const v = await this.call({ method: 'GET', path: `datasets/${oid(datasetId)}/listFiles`, route: 'GET /datasets/:id/listFiles', idempotent: true });
    return parseList(v, 'files', parseFile);
  }

  /**
   * Registers files by their path on Clowder's file system: one multipart
   * request with a repeated `file` field `{"path":..}` (no bytes are sent).
   * Clowder silently skips paths outside its `filesystem.sourcepaths`, so the
   * result may hold fewer files than `parts`; `{"id"}` (one accepted) has no
   * name. 400 "No files uploaded" means none was accepted.
   */
  async registerPaths(datasetId: string, parts: readonly PathPart[], opts: { extract?: boolean } = {}): Promise<UploadedFile[]> {
    if (parts.length === 0) return [];
    const files = parts.map((p) => JSON.stringify(p.md ? { path: p.path, md: p.md } : { path: p.path }));
    const v = await this.call({
      method: 'POST',
      path: `uploadToDataset/${oid(datasetId)}`,
      route: 'POST /uploadToDataset/:id',
      searchParams: { extract: opts.extract ?? true },
      files,
      idempotent: false,
    });
    return parseUpload(v);
  }

  /**
   * DELETE /api/files/{id}: `{"status":"success"}`, also for an id already gone
   * (so safe to repeat). Clowder deletes a disk-stored file's bytes only when
   * no other file record points at the same path, so removing the old record
   * of a path after registering its new version leaves the file on disk.
   */
  async deleteFile(id: string): Promise<void> {
    await this.call({ method: 'DELETE', path: `files/${oid(id)}`, route: 'DELETE /files/:id', idempotent: true });
  }

  // -------------------------------------------------------------- metadata

  async datasetMetadata(datasetId: string, opts: { extractor?: string } = {}): Promise<MetadataRecord[]> {
    const v = await this.call({
      method: 'GET',
      path: `datasets/${oid(datasetId)}/metadata.jsonld`,
      route: 'GET /datasets/:id/metadata.jsonld',
      ...(opts.extractor ? { searchParams: { extractor: opts.extractor } } : {}),
      idempotent: true,
    });
    return parseList(v, 'metadata', parseMetadata);
  }

  /** Appends a JSON-LD record (Clowder does not de-duplicate). Note: for datasets Clowder drops an array `@context`. */
  async addDatasetMetadata(datasetId: string, body: { '@context'?: unknown; content: unknown; agent: MetadataRecord['agent'] }): Promise<void> {
    const v = await this.call({ method: 'POST', path: `datasets/${oid(datasetId)}/metadata.jsonld`, route: 'POST /datasets/:id/metadata.jsonld', json: body, idempotent: false });
    if (v !== 'Metadata successfully added to db') throw new ClowderProtocolError(`metadata post: unexpected answer ${JSON.stringify(v).slice(0, 200)}`);
  }

  /** Releases the keep-alive sockets. Idempotent. */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /**
   * One API call over Node's own keep-alive http(s) (decision 0053: got's per-request objects were a
   * quarter of the ingest's CPU). Idempotent calls are retried on 429, 5xx and connection errors with
   * a jittered exponential backoff; the rest never are (the caller re-checks, then repeats).
   */
  private async call(c: Call): Promise<unknown> {
    const limit = c.idempotent ? (this.opts.retries ?? 5) : 0;
    let res: { status: number; body: string };
    for (let attempt = 1; ; attempt++) {
      try {
        res = await this.send(c);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (attempt <= limit && code !== undefined && RETRY_CODES.has(code)) {
          await this.backoff(c, attempt, { code });
          continue;
        }
        throw unavailableOrFailed(undefined, `${c.route}: ${code ?? ''} ${(err as Error).message}`.trim(), { cause: err });
      }
      if (res.status < 400) break;
      if (attempt <= limit && (res.status === 429 || res.status >= 500)) {
        await this.backoff(c, attempt, { status: res.status });
        continue;
      }
      const detail = errorDetail(res.body);
      if (isRetryableStatus(res.status)) throw unavailableOrFailed(res.status, `${c.route}: ${res.status} ${detail}`);
      throw new ClowderRejectedError(res.status, detail, `${c.route}: ${res.status} ${detail}`);
    }
    let v: unknown;
    try {
      v = JSON.parse(res.body);
    } catch {
      throw new ClowderProtocolError(`${c.route}: answer is not JSON: ${res.body.slice(0, 200)}`);
    }
    // A failed Mongo insert is reported as 200 {"status":"error"}: nothing was created, try again.
    if (v && typeof v === 'object' && !Array.isArray(v) && (v as { status?: unknown }).status === 'error' && !('id' in v)) {
      throw unavailableOrFailed(200, `${c.route}: Clowder answered 200 {"status":"error"}`);
    }
    return v;
  }

  private async backoff(c: Call, attempt: number, why: { status?: number; code?: string }): Promise<void> {
    this.opts.onRetry?.({ route: c.route, attempt, ...why });
    await sleep(backoffDelay(attempt - 1, { baseMs: this.opts.retryBaseMs ?? 200, maxMs: this.opts.retryMaxMs ?? 5_000, jitter: 0.5 }));
  }

  /** One request: the whole answer as text, whatever its status; rejects on a connection error or the timeout. */
  private async send(c: Call): Promise<{ status: number; body: string }> {
    // The path and query as strings (no URL object per request): the constant part was worked out once, in the constructor.
    const t = this.target;
    const params = c.searchParams ? new URLSearchParams(Object.entries(c.searchParams).map(([k, v]): [string, string] => [k, String(v)])).toString() : '';
    const path = `${t.apiPath}${c.path}?${t.query}${params ? `&${params}` : ''}`;
    const headers: Record<string, string> = { ...this.headers };
    // A request made for a message carries its trace (W3C traceparent), so Clowder's side can be matched to the file.
    if (currentTrace()) headers[TRACEPARENT_HEADER] = outgoingTraceparent();
    let payload: Buffer | undefined;
    if (c.json !== undefined) {
      payload = Buffer.from(JSON.stringify(c.json));
      headers['content-type'] = 'application/json';
    } else if (c.files !== undefined) {
      const { body, boundary } = multipart('file', c.files);
      payload = body;
      headers['content-type'] = `multipart/form-data; boundary=${boundary}`;
    }
    if (payload) headers['content-length'] = String(payload.length);
    const https = t.protocol === 'https:';
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const options = { protocol: t.protocol, hostname: t.hostname, port: t.port, ...(t.auth ? { auth: t.auth } : {}), path, method: c.method, headers, agent: https ? this.agents.https : this.agents.http };
      const req = (https ? httpsRequest : httpRequest)(options, (r: IncomingMessage) => {
        const chunks: Buffer[] = [];
        r.on('data', (d: Buffer) => chunks.push(d));
        r.on('error', reject);
        r.on('end', () => {
          clearTimeout(timer);
          resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no complete answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(payload);
    });
  }
}

/**
 * A multipart/form-data body of text fields all named `name` (what a FormData
 * with only string values encodes to, without a web stream per request). The
 * boundary is random and checked against the values.
 */
export function multipart(name: string, values: readonly string[]): { body: Buffer; boundary: string } {
  let boundary: string;
  do boundary = `----terra-transfer-${randomBytes(12).toString('hex')}`;
  while (values.some((v) => v.includes(boundary)));
  // Line breaks as CRLF, as the form encoding requires (JSON.stringify never leaves a raw one).
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`;
  return { body: Buffer.from(`${values.map((v) => `${head}${v.replace(/\r?\n|\r/g, '\r\n')}\r\n`).join('')}--${boundary}--\r\n`), boundary };
}

/** Connection errors an idempotent call is retried on. */
const RETRY_CODES: ReadonlySet<string> = new Set(['ETIMEDOUT', 'ECONNRESET', 'EADDRINUSE', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'ENETUNREACH', 'EAI_AGAIN', 'EHOSTUNREACH']);

/** Ids are checked before they go into a URL: a malformed one would be Clowder's 400 anyway. */
function oid(id: string): string {
  if (!isObjectId(id)) throw new ClowderProtocolError(`not an ObjectId: ${JSON.stringify(id).slice(0, 40)}`);
  return id;
}

/** Oldest first: ObjectIds grow with creation time, so the smallest id is the one everybody converges on. */
function byOldest<T extends { id: string }>(xs: T[]): T[] {
  return xs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
