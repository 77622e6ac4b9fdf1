/**
 * Config declared once. A service lists every setting with its type, default
 * and a one-line comment; `loadConfig` reads them from the environment, checks
 * all of them, and either returns a frozen, typed object or throws one
 * ConfigError that names every bad key. Nothing else reads process.env.
 */

import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

type Parser<T> = (raw: string) => T;

export interface Setting<T> {
  readonly doc: string;
  readonly default: T | undefined;
  readonly secret: boolean;
  readonly parse: Parser<T>;
  readonly kind: string;
  /** An optional setting is absent (undefined) when not set: no sentinel such as '-' or '' stands for "unset". */
  readonly optional: boolean;
}

interface Options<T> {
  default?: T;
  /** Secrets are never logged nor echoed in errors. */
  secret?: boolean;
}

function setting<T>(kind: string, parse: Parser<T>, doc: string, opts: Options<T> = {}): Setting<T> {
  return { kind, parse, doc, default: opts.default, secret: opts.secret ?? false, optional: false };
}

/** Makes a setting optional: when it is not set (or set empty) the config holds `undefined` for it. */
export function optional<T>(s: Setting<T>): Setting<T | undefined> {
  if (s.default !== undefined) throw new Error('an optional setting has no default');
  return { ...s, optional: true };
}

const fail = (msg: string): never => {
  throw new Error(msg);
};

export const env = {
  string: (doc: string, opts?: Options<string> & { pattern?: RegExp }) =>
    setting('string', (raw) => {
      if (raw === '') fail('must not be empty');
      if (opts?.pattern && !opts.pattern.test(raw)) fail(`must match ${opts.pattern}`);
      return raw;
    }, doc, opts),
  int: (doc: string, opts?: Options<number> & { min?: number; max?: number }) =>
    setting('integer', (raw) => {
      if (!/^-?\d+$/.test(raw.trim())) fail(`must be an integer, got "${raw}"`);
      const n = Number(raw);
      if (opts?.min !== undefined && n < opts.min) fail(`must be >= ${opts.min}, got ${n}`);
      if (opts?.max !== undefined && n > opts.max) fail(`must be <= ${opts.max}, got ${n}`);
      return n;
    }, doc, opts),
  number: (doc: string, opts?: Options<number> & { min?: number; max?: number }) =>
    setting('number', (raw) => {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) fail(`must be a number, got "${raw}"`);
      if (opts?.min !== undefined && n < opts.min) fail(`must be >= ${opts.min}, got ${n}`);
      if (opts?.max !== undefined && n > opts.max) fail(`must be <= ${opts.max}, got ${n}`);
      return n;
    }, doc, opts),
  bool: (doc: string, opts?: Options<boolean>) =>
    setting('boolean', (raw) => {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      return fail(`must be true or false, got "${raw}"`);
    }, doc, opts),
  /** A URL; with `multiple`, a comma-separated list of URLs (each checked), kept as written. */
  url: (doc: string, opts?: Options<string> & { protocols?: string[]; multiple?: boolean }) =>
    setting('url', (raw) => {
      const parts = opts?.multiple ? raw.split(',').map((s) => s.trim()) : [raw];
      for (const part of parts) {
        let u: URL;
        try {
          u = new URL(part);
        } catch {
          return fail(opts?.multiple ? 'must be one URL or several separated by commas' : 'must be a URL');
        }
        if (opts?.protocols && !opts.protocols.includes(u.protocol.replace(/:$/, ''))) fail(`must use ${opts.protocols.join(' or ')}`);
      }
      return raw;
    }, doc, opts),
  enum: <const T extends string>(values: readonly T[], doc: string, opts?: Options<T>) =>
    setting('enum', (raw) => (values.includes(raw as T) ? (raw as T) : fail(`must be one of ${values.join(', ')}, got "${raw}"`)), doc, opts),
  /** An absolute path. */
  path: (doc: string, opts?: Options<string>) =>
    setting('path', (raw) => (raw.startsWith('/') ? raw.replace(/(.)\/+$/, '$1') : fail(`must be an absolute path, got "${raw}"`)), doc, opts),
  /** A comma-separated list. */
  list: (doc: string, opts?: Options<string[]>) =>
    setting('list', (raw) => raw.split(',').map((s) => s.trim()).filter(Boolean), doc, opts),
  /** A JSON value, validated by a TypeBox schema (the first problems, with their JSON paths, name what is wrong). */
  json: <S extends TSchema>(schema: S, doc: string, opts?: Options<Static<S>>) =>
    setting<Static<S>>('json', (raw) => {
      let v: unknown;
      try {
        v = JSON.parse(raw);
      } catch {
        return fail('must be valid JSON');
      }
      if (!Value.Check(schema, v)) {
        // A schema's description, where it has one, says what was expected (a union's own message does not).
        const problems = [...Value.Errors(schema, v)].slice(0, 3).map((e) => `${e.path || '(root)'} ${e.message}${e.schema.description ? ` (${e.schema.description})` : ''}`);
        fail(`is not valid: ${problems.join('; ')}`);
      }
      return v as Static<S>;
    }, doc, opts),
};

export type Spec = Record<string, Setting<unknown>>;
export type ConfigOf<S extends Spec> = { readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

export class ConfigError extends Error {
  constructor(readonly problems: Array<{ key: string; problem: string }>) {
    super(`invalid configuration: ${problems.map((p) => `${p.key} ${p.problem}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** A check across settings (one needs another): the problems it returns are reported like any bad key. */
export type CrossCheck<S extends Spec> = (config: ConfigOf<S>) => Array<{ key: string; problem: string }>;

/** A cross check: setting `low` must not exceed setting `high` (a backoff's first and longest wait). */
export function notAbove<C extends Record<string, unknown>>(low: keyof C & string, high: keyof C & string): (config: C) => Array<{ key: string; problem: string }> {
  return (c) => (Number(c[low]) > Number(c[high]) ? [{ key: low, problem: `must be <= ${high} (${String(c[high])}), got ${String(c[low])}` }] : []);
}

export function loadConfig<S extends Spec>(spec: S, source: Record<string, string | undefined> = process.env, cross?: CrossCheck<S>): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  const problems: Array<{ key: string; problem: string }> = [];
  for (const [key, s] of Object.entries(spec)) {
    const raw = source[key];
    if (raw === undefined || raw === '') {
      if (s.optional) out[key] = undefined;
      else if (s.default === undefined) problems.push({ key, problem: `is required (${s.doc})` });
      else out[key] = s.default;
      continue;
    }
    try {
      out[key] = s.parse(raw);
    } catch (err) {
      // A secret's value never goes into the message.
      problems.push({ key, problem: s.secret ? 'is invalid (value hidden: secret)' : (err as Error).message });
    }
  }
  if (!problems.length && cross) problems.push(...cross(out as ConfigOf<S>));
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(out) as ConfigOf<S>;
}

/** Names of the secret settings, for log redaction. */
export function secretKeys(spec: Spec): string[] {
  return Object.entries(spec).filter(([, s]) => s.secret).map(([k]) => k);
}

/** A printable table of the settings (for `--help` and docs). */
export function describeConfig(spec: Spec): string {
  return Object.entries(spec)
    .map(([k, s]) => `${k} (${s.kind}${s.default !== undefined ? `, default ${s.secret ? '<hidden>' : JSON.stringify(s.default)}` : s.optional ? ', optional' : ', required'}): ${s.doc}`)
    .join('\n');
}
