/**
 * The bench's readers, in a process of their own (forked by transfer-log-bench.ts),
 * as an operator's browser or `terra file` would be: open-loop queries at a fixed
 * rate (a slow answer does not delay the next), latency per kind. Kept out of the
 * publisher's process because its event loop is busy with publishes and confirms,
 * and a timer or a response waiting behind them would be counted as the service's
 * latency.
 *
 * Messages from the parent: {type:'start', url, plan, qps}, {type:'loaded', versions}
 * (versions whose task the log has committed; the readers ask only for those),
 * {type:'stop'}. Answer to 'stop': {type:'result', lineage, volumes, errors, misses, skipped}.
 */
import { fileOf, type StreamPlan } from './stream.js';

interface Start {
  type: 'start';
  url: string;
  plan: StreamPlan;
  qps: number;
}
type FromParent = Start | { type: 'loaded'; versions: number } | { type: 'stop' };

export interface QueryResult {
  type: 'result';
  lineage: number[];
  volumes: number[];
  errors: number;
  misses: number;
  skipped: number;
}

const result: QueryResult = { type: 'result', lineage: [], volumes: [], errors: 0, misses: 0, skipped: 0 };
let loaded = 0;
let inFlight = 0;
let n = 0;
let timer: NodeJS.Timeout | undefined;

function fire(url: string, plan: StreamPlan): void {
  if (loaded === 0) return;
  // Bounded: if the service stops answering, the readers do not pile up sockets (the skips are reported).
  if (inFlight >= 50) {
    result.skipped++;
    return;
  }
  const lineage = n++ % 2 === 0;
  const v = Math.floor(Math.random() * loaded);
  const from = new Date(plan.endMs - plan.spanDays * 86_400_000).toISOString().slice(0, 10);
  const to = new Date(plan.endMs).toISOString().slice(0, 10);
  const target = lineage
    ? `${url}/api/v1/files?path=${encodeURIComponent(fileOf(plan, v % plan.files).path)}`
    : `${url}/api/v1/volumes?by=week&from=${from}&to=${to}${Math.random() < 0.5 ? '&site=ua-mac' : ''}`;
  const t0 = performance.now();
  inFlight++;
  void fetch(target)
    .then(async (r) => {
      const body = (await r.json()) as { versions?: unknown[] };
      const ms = performance.now() - t0;
      if (!r.ok) result.errors++;
      else if (lineage) {
        result.lineage.push(ms);
        if (!body.versions?.length) result.misses++;
      } else result.volumes.push(ms);
    })
    .catch(() => result.errors++)
    .finally(() => inFlight--);
}

async function stop(): Promise<void> {
  clearInterval(timer);
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
  process.send!(result, () => process.exit(0));
}

process.on('message', (m: FromParent) => {
  if (m.type === 'start') timer = setInterval(() => fire(m.url, m.plan), 1000 / m.qps);
  else if (m.type === 'loaded') loaded = m.versions;
  else void stop();
});
// The bench gone (killed, crashed): nothing to report to.
process.on('disconnect', () => process.exit(0));
