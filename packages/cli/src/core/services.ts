import { ConfigError } from '@terra-transfer/platform';
import type { Sites } from '@terra-transfer/sites';

/** The local stack's documented ports (packages/stack); a further instance of a per-site service takes +100 per instance before it. */
const DEFAULT_PORTS = { 'log-tailer': 8081, batcher: 8082, watcher: 8083, cleaner: 8084, 'clowder-ingest': 8085, 'transfer-log': 8086, 'directory-source': 8087 } as const;

const SHARED = ['batcher', 'watcher', 'clowder-ingest', 'transfer-log'] as const;

/**
 * Every service process a site file asks for, by name (`batcher`, …,
 * `cleaner@<site>`, `log-tailer@<site>`, `directory-source@<site>`), with its
 * URL: from `overrides` (name=url pairs) or the local stack's default port.
 * Pure: the names and ports follow the site file's order.
 */
export function serviceUrls(sites: Sites, overrides: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const local = (port: number) => `http://127.0.0.1:${port}`;
  for (const s of SHARED) out.set(s, local(DEFAULT_PORTS[s]));
  const seen = new Map<string, number>();
  for (const site of sites.sites) {
    const services = ['cleaner', ...(site.source.kind === 'xferlog' ? ['log-tailer'] : site.source.kind === 'directory' ? ['directory-source'] : [])] as Array<keyof typeof DEFAULT_PORTS>;
    for (const service of services) {
      const k = seen.get(service) ?? 0;
      seen.set(service, k + 1);
      out.set(`${service}@${site.name}`, local(DEFAULT_PORTS[service] + 100 * k));
    }
  }
  for (const pair of overrides) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new ConfigError([{ key: 'SERVICE_URLS', problem: `"${pair}" is not name=url` }]);
    out.set(pair.slice(0, at), pair.slice(at + 1).replace(/\/+$/, ''));
  }
  return out;
}
