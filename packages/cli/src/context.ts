import { createInterface } from 'node:readline/promises';
import { ConfigError, loadConfig, type ConfigOf } from '@terra-transfer/platform';
import { loadSites, type Site, type Sites } from '@terra-transfer/sites';
import cliProgress from 'cli-progress';
import { CliError, EXIT, notFound, unauthorized, unreachable } from './errors.js';
import { cliSettings } from './settings.js';
import { serviceUrls } from './core/services.js';

export type CliConfig = ConfigOf<typeof cliSettings>;

export interface CommonOptions {
  json?: boolean;
}

/** Where output goes; tests and the real process use the same streams. */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdinIsTTY: boolean;
  env: Record<string, string | undefined>;
}

export interface HttpCall {
  method?: 'GET' | 'POST' | 'DELETE';
  body?: unknown;
  /** Statuses answered to the caller instead of failing (404 of "no sweep yet", 409…). */
  accept?: number[];
  /** Send the bearer token (write endpoints; every call when API_TOKEN is set). */
  auth?: boolean;
}

/**
 * What every command gets: the configuration and the site file (loaded on
 * first use, so `terra --help` and `terra completion` need neither), HTTP
 * calls that turn every failure into a one-line CliError, output as JSON or
 * text, progress on a terminal only, confirmations, and Ctrl-C.
 */
export class Context {
  private config?: CliConfig;
  private siteFile?: Sites;
  private interruptedFlag = false;
  /** Aborted on the first Ctrl-C of a long operation: streams and waits listen to it. */
  readonly stopSignal = new AbortController();
  /** Set by a long operation: the first Ctrl-C then only asks it to stop after its current step. */
  longRunning = false;

  constructor(readonly io: Io) {}

  get cfg(): CliConfig {
    this.config ??= loadConfig(cliSettings, this.io.env);
    return this.config;
  }

  get sites(): Sites {
    this.siteFile ??= loadSites(this.cfg.SITES_FILE);
    return this.siteFile;
  }

  /** The named site, or a one-line "unknown site" error listing the configured ones. */
  site(name: string): Site {
    if (!this.sites.has(name)) throw notFound(`unknown site "${name}" (the site file ${this.cfg.SITES_FILE} has: ${this.sites.names().join(', ')})`, 'UNKNOWN_SITE');
    return this.sites.get(name);
  }

  /** Sites a command covers: the named one, or all. */
  sitesOrAll(name: string | undefined): Site[] {
    return name === undefined ? [...this.sites.sites] : [this.site(name)];
  }

  serviceUrls(): Map<string, string> {
    return serviceUrls(this.sites, this.cfg.SERVICE_URLS);
  }

  serviceUrl(name: string): string {
    const url = this.serviceUrls().get(name);
    if (!url) throw notFound(`no service ${name} for this site file (known: ${[...this.serviceUrls().keys()].join(', ')})`, 'UNKNOWN_SERVICE');
    return url;
  }

  /** A JSON call to a service; every failure becomes one line naming the service and the problem. */
  async call<T>(service: string, path: string, c: HttpCall = {}): Promise<{ status: number; body: T }> {
    const url = new URL(path, this.serviceUrl(service));
    return this.fetchJson<T>(service, url, c, this.cfg.API_TOKEN ? { authorization: `Bearer ${this.cfg.API_TOKEN}` } : {});
  }

  async fetchJson<T>(who: string, url: URL, c: HttpCall, headers: Record<string, string>): Promise<{ status: number; body: T }> {
    if (c.auth && !headers['authorization']) throw unauthorized(`${who} needs a bearer token for ${c.method ?? 'GET'} ${url.pathname}: set API_TOKEN`);
    let res: Response;
    try {
      res = await fetch(url, {
        method: c.method ?? 'GET',
        // RabbitMQ's management API answers 406 to a DELETE that asks for JSON (it answers none).
        headers: { ...(c.method === 'DELETE' ? {} : { accept: 'application/json' }), ...headers, ...(c.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(c.body !== undefined ? { body: JSON.stringify(c.body) } : {}),
        signal: AbortSignal.timeout(this.cfg.HTTP_TIMEOUT_MS),
      });
    } catch (err) {
      throw unreachable(`cannot reach ${who} at ${url.origin}: ${reason(err)}`);
    }
    const text = await res.text().catch(() => '');
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch { /* not JSON: kept as text */ }
    if (res.ok || c.accept?.includes(res.status)) return { status: res.status, body: body as T };
    const message = typeof body === 'object' && body && 'message' in body ? String((body as { message: unknown }).message) : text.slice(0, 200);
    if (res.status === 401) throw unauthorized(`${who} refused the token (401 ${message}): check API_TOKEN`);
    if (res.status === 503 && typeof body === 'object' && body && (body as { error?: string }).error === 'AUTH_NOT_CONFIGURED') throw unauthorized(`${who} has no API token configured: its write endpoints are disabled`);
    throw unreachable(`${who} answered ${res.status} to ${c.method ?? 'GET'} ${url.pathname}: ${message}`);
  }

  /** Prints the command's result: JSON (one document) with --json, else the text. */
  out(o: CommonOptions, value: unknown, text: () => string): void {
    if (o.json) this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    else this.io.stdout.write(`${text()}\n`);
  }

  /** A note for a person (stderr): never mixed into the output a script reads. */
  note(o: CommonOptions, line: string): void {
    if (!o.json) this.io.stderr.write(`${line}\n`);
  }

  /** A progress bar on a terminal; nothing when stderr is piped or with --json. */
  progress(o: CommonOptions, total: number, label: string): { tick(n?: number): void; total(n: number): void; stop(): void } {
    if (o.json || !this.io.stderr.isTTY) return { tick() {}, total() {}, stop() {} };
    const bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta_formatted}`, stream: this.io.stderr as NodeJS.WriteStream, hideCursor: true }, cliProgress.Presets.shades_classic);
    bar.start(total, 0);
    return { tick: (n = 1) => bar.increment(n), total: (n) => bar.setTotal(n), stop: () => bar.stop() };
  }

  /** Asks before a large or destructive step; `yes` skips. Without a terminal to ask on, it declines. */
  async confirm(question: string, yes: boolean | undefined): Promise<void> {
    if (yes) return;
    if (!this.io.stdinIsTTY) throw new CliError(`${question} — stdin is not a terminal: pass --yes to confirm`, EXIT.DECLINED, 'CONFIRMATION_NEEDED');
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = await rl.question(`${question} [y/N] `);
      if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('not confirmed: nothing done', EXIT.DECLINED, 'DECLINED');
    } finally {
      rl.close();
    }
  }

  /** Ctrl-C: a long operation stops after its current step; anything else exits at once. */
  interrupt(): void {
    if (this.interruptedFlag || !this.longRunning) process.exit(EXIT.INTERRUPTED);
    this.interruptedFlag = true;
    this.stopSignal.abort();
    this.io.stderr.write('\nterra: stopping after the current step (Ctrl-C again to quit now)\n');
  }

  get interrupted(): boolean {
    return this.interruptedFlag;
  }
}

function reason(err: unknown): string {
  const e = err as { name?: string; cause?: { code?: string; message?: string }; message?: string };
  if (e.name === 'TimeoutError') return 'timed out';
  if (e.cause?.code === 'ECONNREFUSED') return 'connection refused';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

/** Any error as one line and its exit code: a CliError as is, a configuration error as 78, anything else as "unexpected". */
export function describeError(err: unknown): { message: string; exitCode: number; code: string } {
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode, code: err.code };
  if (err instanceof ConfigError) return { message: err.message.replace(/\s+/g, ' '), exitCode: EXIT.CONFIG, code: 'CONFIG' };
  const e = err as { message?: string };
  return { message: `unexpected error: ${(e.message ?? String(err)).split('\n')[0]}`, exitCode: EXIT.FINDINGS, code: 'UNEXPECTED' };
}
