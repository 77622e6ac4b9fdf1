/**
 * Fault injection, as data: a list of armed faults, each firing on the next
 * `count` matching requests. Pure; the HTTP layer applies the effect.
 */
export const FAULT_KINDS = ['429', '503', '500', '502-external', 'drop-after-accept', 'consent-required', 'expire-tokens', 'slow', 'inactive'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Our names of the simulated calls; `endpoints` of a fault picks among them. */
export const SIM_ENDPOINTS = ['token', 'submission_id', 'transfer', 'task', 'task_list', 'successful_transfers', 'skipped_errors', 'event_list', 'cancel'] as const;
export type SimEndpoint = (typeof SIM_ENDPOINTS)[number];

export interface Fault {
  id: number;
  kind: FaultKind;
  /** Requests (or, for `slow`, tasks) still to hit. */
  remaining: number;
  endpoints: SimEndpoint[] | null;
  retryAfter: number | null;
  /** `slow`: extra time per file of the next `count` tasks; `inactive`: how long each of the next `count` tasks stays INACTIVE. */
  delayMs: number;
  /** `502-external` on `transfer` only: hits only submissions to this destination endpoint (one site's destination unreachable). */
  destinationEndpoint: string | null;
}

export interface FaultRequest {
  kind: FaultKind;
  count?: number;
  endpoints?: SimEndpoint[];
  retryAfter?: number;
  delayMs?: number;
  destinationEndpoint?: string;
}

export function checkFaultRequest(v: unknown): string | undefined {
  if (!v || typeof v !== 'object') return 'a fault must be an object';
  const f = v as Record<string, unknown>;
  if (!FAULT_KINDS.includes(f['kind'] as FaultKind)) return `kind must be one of ${FAULT_KINDS.join(', ')}`;
  if (f['count'] !== undefined && !(Number.isInteger(f['count']) && (f['count'] as number) >= 1)) return 'count must be a positive integer';
  if (f['endpoints'] !== undefined && !(Array.isArray(f['endpoints']) && f['endpoints'].every((e) => SIM_ENDPOINTS.includes(e as SimEndpoint)))) return `endpoints must be a list of ${SIM_ENDPOINTS.join(', ')}`;
  if (f['retryAfter'] !== undefined && !(Number.isInteger(f['retryAfter']) && (f['retryAfter'] as number) >= 0)) return 'retryAfter must be a non-negative integer (seconds)';
  if (f['delayMs'] !== undefined && !(Number.isInteger(f['delayMs']) && (f['delayMs'] as number) >= 0)) return 'delayMs must be a non-negative integer';
  if (f['destinationEndpoint'] !== undefined && (typeof f['destinationEndpoint'] !== 'string' || f['kind'] !== '502-external')) return 'destinationEndpoint is a string, and only for kind 502-external';
  return undefined;
}

export class FaultPlan {
  private faults: Fault[] = [];
  private nextId = 1;

  add(r: FaultRequest): Fault {
    const f: Fault = {
      id: this.nextId++,
      kind: r.kind,
      remaining: r.count ?? 1,
      endpoints: r.endpoints ?? (r.kind === 'drop-after-accept' || r.kind === 'consent-required' ? ['transfer'] : null),
      retryAfter: r.retryAfter ?? null,
      delayMs: r.delayMs ?? 1000,
      destinationEndpoint: r.destinationEndpoint ?? null,
    };
    // Scoped to a destination: only a submission names one.
    if (f.destinationEndpoint !== null) f.endpoints = ['transfer'];
    this.faults.push(f);
    return f;
  }

  list(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  clear(): void {
    this.faults = [];
  }

  /** Takes one shot of the first armed fault among `kinds` that matches `endpoint`. */
  take(endpoint: SimEndpoint, kinds: readonly FaultKind[], destinationEndpoint: string | null = null): Fault | undefined {
    const f = this.faults.find((x) => kinds.includes(x.kind) && x.remaining > 0 && (x.endpoints === null || x.endpoints.includes(endpoint)) && x.destinationEndpoint === destinationEndpoint);
    if (!f) return undefined;
    f.remaining--;
    if (f.remaining <= 0) this.faults = this.faults.filter((x) => x !== f);
    return { ...f };
  }
}
