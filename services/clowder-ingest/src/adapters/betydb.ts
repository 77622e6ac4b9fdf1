import type { BetyExperiment, BetySite } from '../core/betydb-records.js';

/** BETYdb did not answer as expected (unreachable, an error status, another shape): the caller leaves its parts out. */
export class BetyError extends Error {}

/**
 * The BETYdb queries terrautils (tag 1.1.0) made, over its `api/beta`
 * endpoints with `key` as a query parameter: every experiment
 * (`Sensors.get_experiment`), and, at a point, the experiments and the sites
 * containing it with their experiments (`get_sites_by_latlon` with a date).
 * Shapes: `{data: [{experiment: …}]}` and `{data: [{site: …}]}`.
 */
export class BetyClient {
  constructor(private readonly opts: { url: string; key: string; timeoutMs: number }) {}

  async experiments(at?: readonly [number, number]): Promise<BetyExperiment[]> {
    const data = await this.query('experiments', at ? { containing: point(at) } : {});
    return data.map((d) => record<BetyExperiment>(d, 'experiment', ['id', 'name', 'start_date', 'end_date']));
  }

  async sitesContaining(at: readonly [number, number]): Promise<BetySite[]> {
    const data = await this.query('sites', { associations_mode: 'full_info', limit: 'none', containing: point(at) });
    return data.map((d) => record<BetySite>(d, 'site', ['id', 'sitename']));
  }

  private async query(endpoint: string, params: Record<string, string>): Promise<unknown[]> {
    const url = new URL(`api/beta/${endpoint}`, this.opts.url.endsWith('/') ? this.opts.url : `${this.opts.url}/`);
    url.searchParams.set('key', this.opts.key);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(this.opts.timeoutMs), headers: { accept: 'application/json' } });
    } catch (err) {
      throw new BetyError(`BETYdb ${endpoint}: ${(err as Error).message}`, { cause: err });
    }
    if (!res.ok) throw new BetyError(`BETYdb ${endpoint}: HTTP ${res.status}`);
    const body = (await res.json().catch(() => undefined)) as { data?: unknown } | undefined;
    if (!body || !Array.isArray(body.data)) throw new BetyError(`BETYdb ${endpoint}: no data array in the answer`);
    return body.data;
  }
}

/** terrautils formatted the point with Python 2's str(float): 12 significant digits. */
export function point(at: readonly [number, number]): string {
  return `${Number(at[0].toPrecision(12))},${Number(at[1].toPrecision(12))}`;
}

function record<T>(d: unknown, key: string, required: readonly string[]): T {
  const r = (d as Record<string, unknown> | null)?.[key] as Record<string, unknown> | undefined;
  if (!r || typeof r !== 'object' || required.some((k) => r[k] === undefined)) throw new BetyError(`BETYdb: an entry without ${key}.{${required.join(', ')}}`);
  return r as T;
}
