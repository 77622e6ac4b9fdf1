import type { Command } from 'commander';
import type { Context, CommonOptions } from '../context.js';
import { EXIT, CliError } from '../errors.js';
import { deadLetterQueues, Management, otherBrokerDepths, type QueueInfo } from '../rabbit.js';
import { ago, table } from '../format.js';

interface ServiceHealth {
  name: string;
  url: string;
  healthy: boolean;
  ready: boolean;
  checks: Record<string, boolean> | null;
  error: string | null;
}

interface LogStatus {
  behind: boolean;
  lagSeconds: number | null;
  sites: Array<{ site: string; today: { files: number; bytes: number }; backlog: number; backlogByState?: Record<string, number>; oldestUntransferredSince: string | null; failures24h: number; tasksInFlight: number }>;
  globusTasks: Array<{ taskId: string; site: string; files: number; bytes: number; submittedAt: string | null }>;
}

/** States below "transferred" in the transfer log: the backlog. */
const BACKLOG_STATES = ['uploaded', 'submitted', 'failed'] as const;

/** The site's oldest untransferred file: the oldest of each backlog state (the log's /api/v1/stuck, oldest first), then the oldest of those. */
async function oldestUntransferred(ctx: Context, site: string): Promise<{ path: string | null; state: string; since: string | null } | null> {
  const firsts = await Promise.all(BACKLOG_STATES.map(async (state) => {
    const r = await ctx.call<{ files: Array<{ path: string | null; stateAt: string | null }> }>('transfer-log', `/api/v1/stuck?${new URLSearchParams({ state, olderThan: '0', site, limit: '1' })}`);
    const f = r.body.files[0];
    return f ? { path: f.path, state, since: f.stateAt } : null;
  }));
  return firsts.filter((f) => f !== null).sort((a, b) => (a!.since ?? '').localeCompare(b!.since ?? ''))[0] ?? null;
}

async function health(ctx: Context, name: string, url: string): Promise<ServiceHealth> {
  const out: ServiceHealth = { name, url, healthy: false, ready: false, checks: null, error: null };
  try {
    out.healthy = (await ctx.call(name, '/healthz')).status === 200;
    const r = await ctx.call<{ status?: string; checks?: Record<string, boolean> }>(name, '/readyz', { accept: [503] });
    out.ready = r.status === 200;
    out.checks = r.body?.checks ?? null;
  } catch (err) {
    out.error = (err as Error).message;
  }
  return out;
}

export function registerStatus(program: Command, ctx: Context, common: (c: Command) => Command): void {
  common(program.command('status'))
    .description("Every service's health and readiness, per-site backlog and oldest untransferred file, the backlog by state, queue depths, dead letters, Globus tasks in flight")
    .option('--site <site>', 'only this site')
    .addHelpText('after', '\nExamples:\n  terra status\n  terra status --site ua-mac --json | jq .sites\n\nExit status 1 when a service is unreachable or not ready, or a dead-letter queue holds messages.')
    .action(async (o: CommonOptions & { site?: string }) => {
      const sites = ctx.sitesOrAll(o.site).map((s) => s.name);
      const services = [...ctx.serviceUrls()].filter(([name]) => !name.includes('@') || sites.includes(name.split('@')[1]!));
      const mgmt = new Management(ctx);
      const allDlqs = deadLetterQueues(ctx).filter((d) => d.site === null || sites.includes(d.site));
      const [healths, log, queues, other] = await Promise.all([
        Promise.all(services.map(([name, url]) => health(ctx, name, url))),
        ctx.call<LogStatus>('transfer-log', '/api/v1/status').then((r) => r.body, (err: Error) => ({ error: err.message })),
        mgmt.queues(ctx.cfg.AMQP_PREFIX).catch((err: Error) => ({ error: err.message })),
        otherBrokerDepths(ctx, allDlqs),
      ]);
      const qs: QueueInfo[] = Array.isArray(queues) ? queues : [];
      const depth = new Map(qs.map((q) => [q.name, q]));
      const otherDepth = other instanceof Map ? other : new Map<string, number | null>();
      // With two brokers, the other side's depths as the transfer log read them (null: not read).
      const dlqs = allDlqs.map(({ here, ...d }) => ({ ...d, messages: here ? depth.get(d.name)?.messages ?? null : otherDepth.get(d.name) ?? null }));
      const siteOf = (queue: string) => ctx.sites.names().find((n) => queue.endsWith(`.${n}`));
      const servesSelected = (queue: string) => { const s = siteOf(queue); return s === undefined || sites.includes(s); };
      const logOk = !('error' in log);
      const oldest = new Map(logOk ? await Promise.all(sites.map(async (site) => [site, await oldestUntransferred(ctx, site).catch(() => null)] as const)) : []);
      const siteRows = sites.map((site) => {
        const s = logOk ? log.sites.find((x) => x.site === site) : undefined;
        return {
          site,
          backlog: s?.backlog ?? (logOk ? 0 : null),
          backlogByState: s?.backlogByState ?? {},
          oldestUntransferredSince: s?.oldestUntransferredSince ?? null,
          oldestUntransferred: oldest.get(site) ?? null,
          arrivedToday: s?.today ?? null,
          failures24h: s?.failures24h ?? (logOk ? 0 : null),
          tasksInFlight: s?.tasksInFlight ?? (logOk ? 0 : null),
          queues: qs.filter((q) => q.name.endsWith(`.${site}`) && !q.name.endsWith('.dlq')).map((q) => ({ name: q.name, messages: q.messages, consumers: q.consumers })),
        };
      });
      const result = {
        services: healths,
        sites: siteRows,
        deadLetters: dlqs,
        globusTasks: logOk ? log.globusTasks.filter((t) => sites.includes(t.site)) : [],
        transferLog: logOk ? { behind: log.behind, lagSeconds: log.lagSeconds } : { error: log.error },
        rabbitmq: Array.isArray(queues) ? { ok: true } : { error: queues.error },
      };
      ctx.out(o, result, () => [
        'SERVICES',
        table(['service', 'health', 'ready', 'detail'], healths.map((h) => [h.name, h.healthy ? 'ok' : 'DOWN', h.ready ? 'ready' : 'NOT READY',
          h.error ?? Object.entries(h.checks ?? {}).filter(([, ok]) => !ok).map(([k]) => `${k} failing`).join(', ')])),
        '',
        'SITES',
        table(['site', 'backlog', 'by state', 'oldest untransferred', 'arrived today', 'give-ups 24h', 'Globus tasks'], siteRows.map((s) => [
          s.site, String(s.backlog ?? '?'), Object.entries(s.backlogByState).map(([k, n]) => `${k} ${n}`).join(', ') || '-',
          s.oldestUntransferredSince ? `${ago(s.oldestUntransferredSince)}${s.oldestUntransferred?.path ? ` ${s.oldestUntransferred.path} (${s.oldestUntransferred.state})` : ''}` : '-',
          s.arrivedToday ? `${s.arrivedToday.files} files` : '?', String(s.failures24h ?? '?'), String(s.tasksInFlight ?? '?'),
        ])),
        ...(logOk ? [] : [`transfer log: ${log.error}`]),
        '',
        'QUEUES',
        table(['queue', 'messages', 'consumers'], qs.filter((q) => !q.name.endsWith('.dlq') && servesSelected(q.name)).map((q) => [q.name, String(q.messages), String(q.consumers)])),
        '',
        'DEAD LETTERS',
        table(['dead-letter queue', 'broker', 'messages'], dlqs.map((d) => [d.name, d.broker, d.messages === null ? '?' : String(d.messages)])),
        ...(Array.isArray(queues) ? [] : [`rabbitmq: ${queues.error}`]),
        ...(other instanceof Map ? [] : [other.error]),
        '',
        `GLOBUS TASKS IN FLIGHT: ${result.globusTasks.length}`,
        ...result.globusTasks.slice(0, 10).map((t) => `  ${t.taskId}  ${t.site}  ${t.files} files  since ${t.submittedAt ?? '?'}`),
      ].join('\n'));
      const bad = healths.some((h) => !h.ready) || dlqs.some((d) => (d.messages ?? 0) > 0) || !logOk || !Array.isArray(queues);
      if (bad) throw new CliError('', EXIT.FINDINGS, 'FINDINGS');
    });
}
