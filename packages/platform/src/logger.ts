import { pino, type Logger } from 'pino';
import { currentTrace } from './trace.js';

export type { Logger } from 'pino';

/** Paths pino removes from every log line, wherever a secret could travel. */
const REDACT = [
  'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', 'req.headers["x-api-key"]',
  'password', '*.password', 'token', '*.token', 'access_token', '*.access_token', 'client_secret', '*.client_secret',
  'secret', '*.secret', 'apiKey', '*.apiKey', 'key', '*.key',
];

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Write to this destination instead of stdout (tests). */
  destination?: NodeJS.WritableStream;
}

/**
 * JSON logs, one line per event, with `service` on every line and secrets
 * redacted. A line written while a consumer's handler runs also carries the
 * delivery's `traceId` and, for a message about one file, its `uploadId`
 * (fields the call passes itself win).
 */
export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: opts.service },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: traceFields,
    },
    opts.destination ?? pino.destination({ sync: false }),
  );
}

function traceFields(): Record<string, string> {
  const scope = currentTrace();
  if (!scope) return {};
  return scope.uploadId === undefined ? { traceId: scope.trace.traceId } : { traceId: scope.trace.traceId, uploadId: scope.uploadId };
}

/** Strips credentials from a URL before it is logged (amqp://user:pass@host → amqp://user:***@host). */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) if (/key|token|secret|password/i.test(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}
