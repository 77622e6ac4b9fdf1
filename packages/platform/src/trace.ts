import { AsyncLocalStorage } from 'node:async_hooks';
import { randomFillSync } from 'node:crypto';

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) for following one
 * file across services: a `traceparent` travels in AMQP message headers (and
 * on Clowder requests); a consumer runs its handler inside the delivery's
 * trace, so what the handler publishes or requests carries the same trace id
 * with a new span id, and every log line the handler writes carries the trace
 * id and the file's uploadId (createLogger's mixin).
 *
 * A small helper rather than OpenTelemetry: the API package alone has no-op
 * spans and no propagator (those come with the SDK), and nothing here exports
 * spans; only the header travels. See docs/decisions/0051.
 */
export interface TraceContext {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** 16 lowercase hex digits, not all zero: the span of whoever sent this context. */
  spanId: string;
  /** Trace flags (bit 0: sampled). */
  flags: number;
}

/** What a handler's log lines carry: its trace and, for a message about a file, the file's upload. */
export interface TraceScope {
  trace: TraceContext;
  uploadId?: string;
}

export const TRACEPARENT_HEADER = 'traceparent';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const ZEROS = /^0+$/;

/** A traceparent header's context, or null for anything that is not one (then a new trace is started). */
export function parseTraceparent(value: unknown): TraceContext | null {
  if (typeof value !== 'string' && !Buffer.isBuffer(value)) return null;
  const m = TRACEPARENT.exec(String(value).trim());
  if (!m) return null;
  const [, version, traceId, spanId, flags] = m as unknown as [string, string, string, string, string];
  // Version ff is invalid; version 00 has exactly four fields.
  if (version === 'ff' || (version === '00' && String(value).trim().length !== 55)) return null;
  if (ZEROS.test(traceId) || ZEROS.test(spanId)) return null;
  return { traceId, spanId, flags: parseInt(flags, 16) };
}

export function formatTraceparent(t: TraceContext): string {
  return `00-${t.traceId}-${t.spanId}-${t.flags.toString(16).padStart(2, '0')}`;
}

/**
 * Random bytes drawn from a pool filled 4 KiB at a time (as crypto.randomUUID does): a consumer starts or
 * continues a trace per delivery, and a call into the CSPRNG per id cost a sixth of the transfer log's main
 * thread at 5,000 deliveries/s (docs/performance.md). Each byte is handed out once.
 */
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let poolOffset = POOL_BYTES;

function nonZeroHex(bytes: number): string {
  for (;;) {
    if (poolOffset + bytes > POOL_BYTES) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
    poolOffset += bytes;
    if (!ZEROS.test(hex)) return hex;
  }
}

/** A new trace (a source starting one file's journey), sampled. */
export function newTrace(): TraceContext {
  return { traceId: nonZeroHex(16), spanId: nonZeroHex(8), flags: 1 };
}

/** The same trace with a new span id: what a service sends on for a context it received. */
export function childSpan(parent: TraceContext): TraceContext {
  return { traceId: parent.traceId, spanId: nonZeroHex(8), flags: parent.flags };
}

const storage = new AsyncLocalStorage<TraceScope>();

/** Runs fn inside a trace scope (a consumer runs each handler in its delivery's). */
export function runInTrace<R>(scope: TraceScope, fn: () => R): R {
  return storage.run(scope, fn);
}

/** The scope of the handler running now, if any. */
export function currentTrace(): TraceScope | undefined {
  return storage.getStore();
}

/** Runs fn outside any trace scope: background work started by a handler that is not about its message (a batch of many files). */
export function outsideTrace<R>(fn: () => R): R {
  return storage.exit(fn);
}

/** The traceparent for an outgoing message or request: a child of the current scope's trace, or a new trace outside any. */
export function outgoingTraceparent(): string {
  const scope = storage.getStore();
  return formatTraceparent(scope ? childSpan(scope.trace) : newTrace());
}
