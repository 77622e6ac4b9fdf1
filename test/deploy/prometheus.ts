/**
 * The real Prometheus (Debian's `prometheus`) scraping the running stack with deploy/prometheus/prometheus.yml
 * and its alert rules, the targets pointed at 127.0.0.1 (the containers use the host's network here); then
 * every target must be up, every alert rule healthy with its series present, and every Grafana dashboard
 * query valid and returning series.
 *
 * Stand-in: the machine's RabbitMQ (shared, never reconfigured) has no Prometheus plugin, so the `rabbitmq`
 * job is left out and the queries on rabbitmq_* series are counted as `skipped`, not as passed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { freePort, waitFor } from '@terra-transfer/testkit';

const DEPLOY = fileURLToPath(new URL('../../deploy', import.meta.url));
const SKIPPED = /\brabbitmq_\w+/;

interface ScrapeConfig { job_name: string; static_configs: Array<{ targets: string[] }>; [k: string]: unknown }

export interface PrometheusVerdict {
  targetsUp: number;
  rules: number;
  dashboardQueries: number;
  dashboardQueriesOk: number;
  skipped: string[];
  problems: string[];
}

export class TestPrometheus {
  private constructor(private readonly proc: ChildProcess, readonly url: string) {}

  /** Starts prometheus on `dir` with the stack's scrape config, each `service:port` target replaced by 127.0.0.1:<ports[service]>. */
  static async start(dir: string, ports: Record<string, number>): Promise<TestPrometheus> {
    const conf = parse(await readFile(join(DEPLOY, 'prometheus/prometheus.yml'), 'utf8')) as { global: Record<string, string>; rule_files: string[]; scrape_configs: ScrapeConfig[] };
    conf.global = { scrape_interval: '2s', evaluation_interval: '2s' };
    conf.rule_files = conf.rule_files.map((f) => join(DEPLOY, 'prometheus', f));
    conf.scrape_configs = conf.scrape_configs.filter((j) => j.job_name !== 'rabbitmq').map((j) => ({
      ...j,
      static_configs: j.static_configs.map((s) => ({ targets: s.targets.map((t) => {
        const port = ports[t.split(':')[0]!];
        if (!port) throw new Error(`prometheus.yml names ${t}, which the test does not run`);
        return `127.0.0.1:${port}`;
      }) })),
    }));
    const file = join(dir, 'prometheus.yml');
    await writeFile(file, stringify(conf));
    const port = await freePort();
    const proc = spawn('prometheus', [`--config.file=${file}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    proc.stderr!.on('data', (b: Buffer) => { log = (log + b.toString()).slice(-4000); });
    const p = new TestPrometheus(proc, `http://127.0.0.1:${port}`);
    await waitFor('prometheus ready', async () => proc.exitCode === null ? (await fetch(`${p.url}/-/ready`)).ok : Promise.reject(new Error(`prometheus exited: ${log}`)), 60_000, 250);
    return p;
  }

  async api<T>(path: string): Promise<T> {
    const r = await fetch(`${this.url}/api/v1/${path}`);
    const body = (await r.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? r.status}`);
    return body.data;
  }

  async query(expr: string): Promise<unknown[]> {
    return (await this.api<{ result: unknown[] }>(`query?query=${encodeURIComponent(expr)}`)).result;
  }

  /** Waits for every target up and a few scrapes and evaluations, then checks the rules and the dashboards. */
  async check(expectedTargets: number): Promise<PrometheusVerdict> {
    const v: PrometheusVerdict = { targetsUp: 0, rules: 0, dashboardQueries: 0, dashboardQueriesOk: 0, skipped: [], problems: [] };
    type Target = { labels: { job: string }; health: string; lastError: string };
    const targets = await waitFor('every target up', async () => {
      const t = (await this.api<{ activeTargets: Target[] }>('targets')).activeTargets;
      return t.length === expectedTargets && t.every((x) => x.health === 'up') && t;
    }, 60_000, 500).catch(async (err) => {
      throw new Error(`${String(err)}: ${JSON.stringify((await this.api<{ activeTargets: Target[] }>('targets')).activeTargets.map((x) => [x.labels.job, x.health, x.lastError]))}`);
    });
    v.targetsUp = targets.length;
    // rate() needs two samples; [5m] windows need a few scrapes of the 2 s interval.
    await waitFor('a few scrapes', async () => (await this.query('min(count_over_time(up[1m])) >= 4')).length > 0, 60_000, 500);
    type Rule = { name: string; query: string; health: string; lastError?: string; lastEvaluation: string };
    const groups = await waitFor('every rule evaluated', async () => {
      const g = (await this.api<{ groups: Array<{ rules: Rule[] }> }>('rules')).groups;
      return g.flatMap((x) => x.rules).every((r) => !r.lastEvaluation.startsWith('0001')) && g;
    }, 60_000, 500);
    for (const r of groups.flatMap((g) => g.rules)) {
      v.rules++;
      if (r.health !== 'ok') v.problems.push(`rule ${r.name}: ${r.health} ${r.lastError ?? ''}`);
      // Each series the rule reads must exist (a rule on a series nothing exports never fires).
      for (const name of new Set(r.query.match(/\b(terra_transfer_\w+|rabbitmq_\w+)\b/g) ?? [])) {
        if (SKIPPED.test(name)) { v.skipped.push(`rule ${r.name}: ${name}`); continue; }
        if ((await this.query(`count(${name})`)).length === 0) v.problems.push(`rule ${r.name}: no series ${name}`);
      }
    }
    for (const f of (await readdir(join(DEPLOY, 'grafana/dashboards'))).filter((x) => x.endsWith('.json'))) {
      const d = JSON.parse(await readFile(join(DEPLOY, 'grafana/dashboards', f), 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
      for (const p of d.panels) for (const t of p.targets) {
        v.dashboardQueries++;
        if (SKIPPED.test(t.expr)) { v.skipped.push(`${f} ${p.title}: ${t.expr}`); continue; }
        const res = await this.query(t.expr).catch((err: unknown) => `invalid: ${String(err)}`);
        if (typeof res === 'string') v.problems.push(`${f} ${p.title}: ${t.expr}: ${res}`);
        else if (res.length === 0) v.problems.push(`${f} ${p.title}: ${t.expr}: no series`);
        else v.dashboardQueriesOk++;
      }
    }
    return v;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    await exited;
  }
}
