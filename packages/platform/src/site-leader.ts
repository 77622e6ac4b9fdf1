import type { Redis } from 'ioredis';
import { LeaderLease, instanceName } from './lease.js';
import type { Lifecycle } from './lifecycle.js';
import type { Logger } from './logger.js';
import { gauge, type Registry } from './metrics.js';

export interface SiteLeaderOptions {
  /** LEADER_LOCK: off, the instance works at once and nothing is kept in Redis. */
  enabled: boolean;
  service: string;
  site: string;
  /** REDIS_PREFIX. */
  prefix: string;
  /** LEADER_LEASE_MS. */
  ttlMs: number;
  /** Needed when enabled (bootService's Redis). */
  redis: Redis | undefined;
  logger: Logger;
  lifecycle: Lifecycle;
  registry: Registry;
}

/** A source's one-per-site lock, as its main.ts uses it. */
export interface SiteLeader {
  /** Readiness checks to spread into the service's: `leader` while the lock is on (a standby answers 503). */
  readonly checks: Record<string, () => boolean>;
  /** Waits as a standby until this instance leads (at once with the lock off); false when the shutdown began first. */
  acquire(): Promise<boolean>;
}

/** The Redis key of a site's leader lease for one service. */
export function siteLeaderKey(prefix: string, service: string, site: string): string {
  return `${prefix}:${service}:${site}:leader`;
}

/**
 * The leader lock of a source that two instances of one site must not run
 * at once (each would send every file twice). With it on, `acquire()` waits
 * for the site's lease (`<prefix>:<service>:<site>:leader`); the instance
 * starts its work only then. A leader that finds the lease taken at a
 * renewal shuts down and exits 1 (its supervisor restarts it as a standby);
 * the shutdown hands the lease over at once. Gauge
 * `terra_transfer_leader_lease_held`: 1 while this instance leads.
 *
 * Register it after bootService (so the lease is released before Redis
 * closes) and before the work's own shutdown step (so the work stops first).
 */
export function siteLeader(o: SiteLeaderOptions): SiteLeader {
  if (!o.enabled) return { checks: {}, acquire: async () => true };
  // A programming error (the main did not ask bootService for Redis), not an operator's.
  if (!o.redis) throw new Error(`siteLeader: ${o.service}'s leader lock needs Redis`);
  const held = gauge(o.registry, 'terra_transfer_leader_lease_held', '1 while this instance holds its site\'s leader lease and does the work; 0 while it stands by (LEADER_LOCK)');
  held.set(0);
  const shuttingDown = new AbortController();
  const lease = new LeaderLease({
    redis: o.redis, key: siteLeaderKey(o.prefix, o.service, o.site), holder: instanceName(o.service), ttlMs: o.ttlMs, logger: o.logger,
    // Another instance works now: stop at once.
    onLost: () => {
      held.set(0);
      void o.lifecycle.shutdown('leader lease lost').then(() => process.exit(1));
    },
  });
  o.lifecycle.onShutdown('leader lease', async () => {
    shuttingDown.abort();
    held.set(0);
    await lease.release();
  });
  return {
    checks: { leader: () => lease.isLeader },
    acquire: async () => {
      if (!(await lease.acquire(shuttingDown.signal))) return false;
      // Taken while the shutdown began: hand it back rather than start the work.
      if (shuttingDown.signal.aborted) {
        await lease.release();
        return false;
      }
      held.set(1);
      return true;
    },
  };
}
