/*
 * ─────────────────────────────────────────────────────────────────────────────
 *  WIRE CONTRACT. Exchange, queue and routing-key names are shared by every
 *  service and by deployed brokers. Do not rename one without a migration
 *  (declare the new name, move the bindings, drain the old queue).
 *
 *  Migration to per-site routing (issue 16, decision 0004): file.uploaded,
 *  file.transferred and file.failed are published with the routing key
 *  `<type>.<site>` (was `<type>`), and the batcher's and cleaner's queues are
 *  one per site (`<prefix>.batcher.file-uploaded.<site>`,
 *  `<prefix>.cleaner.file-transferred.<site>`, `<prefix>.cleaner.file-failed.<site>`).
 *  Old publishes (`file.uploaded`) match no new binding, and new ones match no
 *  old binding, so old and new services must not run side by side:
 *    1. stop the log-tailers (and any other source) and let the old batcher,
 *       watcher, cleaner and clowder-ingest empty their queues
 *       (`<prefix>.batcher.file-uploaded`, `<prefix>.cleaner.file-transferred`,
 *       `<prefix>.cleaner.file-failed`, `<prefix>.ingest.file-transferred`:
 *       0 messages; the watcher's queue is unchanged);
 *    2. stop every service and start the new ones: each declares the
 *       per-site queues for every site of the site file and the all-site
 *       queues' per-site bindings (`file.transferred.<site>` of ingest,
 *       `file.failed.<site>` of the file-failures tap, for every site);
 *    3. unbind `file.transferred` from `<prefix>.ingest.file-transferred`
 *       and `file.failed` from `<prefix>.file-failures` (left by the old
 *       declaration), then delete `<prefix>.batcher.file-uploaded`,
 *       `<prefix>.cleaner.file-transferred`, `<prefix>.cleaner.file-failed`
 *       and their `.dlq` once their dead letters were looked at.
 *  Adding a site later needs no migration: every service declares its queues
 *  at start (restart them all with the new site file before its source runs).
 *
 *  Two brokers (decision 0028, AMQP_SIDE): each side's broker also holds
 *  `<prefix>.events.inbound` and its outbox `<prefix>.shovel.to-dc` (site) or
 *  `<prefix>.shovel.to-site` (data centre). Moving a one-broker deployment to
 *  two: stop the sources, let every queue empty, keep the old broker as one
 *  side, start the other, declare the shovels, restart every service with its
 *  AMQP_SIDE, then delete from each broker the queues of the other side (they
 *  are no longer declared there and nothing consumes them).
 * ─────────────────────────────────────────────────────────────────────────────
 */
import { MESSAGE_TYPES, type MessageType } from './registry.js';

/**
 * Event types routed per site: published with the routing key `<type>.<site>`
 * (the site from `data.site`), so a site's consumers can have a queue of their
 * own and a site's backlog never sits in front of another's. Other types are
 * published with their type as routing key.
 */
export const SITE_ROUTED_TYPES = ['file.uploaded', 'file.transferred', 'file.failed'] as const satisfies readonly MessageType[];
export type SiteRoutedType = (typeof SITE_ROUTED_TYPES)[number];

const siteRouted = (t: MessageType): t is SiteRoutedType => (SITE_ROUTED_TYPES as readonly string[]).includes(t);

/** Site names as the site file allows them: one word of a routing key, safe in queue names. */
const SITE_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * Where a queue lives when the site and the data centre each run their own
 * broker, linked by shovels (decision 0028): with its consumer. `site`: the
 * sources, batcher and cleaner; `datacentre`: the watcher, clowder-ingest,
 * the transfer log and the operators' taps.
 */
export const BROKER_SIDES = ['site', 'datacentre'] as const;
export type BrokerSide = (typeof BROKER_SIDES)[number];

/**
 * Consumer queues: who consumes what. A `perSite` queue exists once per site
 * (`<name>.<site>`, bound to `<type>.<site>`); any other queue serves every
 * site, so it binds a site-routed type once per site of the site file
 * (`<type>.<site>` for each; never `<type>.*`, so an event of a site no one
 * serves stays unroutable instead of reaching only the all-site queues).
 */
export const QUEUES = {
  /** One per site: a site whose destination fails pauses its own consumer, the others keep flowing. */
  batcherUploads: { name: 'batcher.file-uploaded', bindings: ['file.uploaded'], perSite: true, side: 'site' },
  watcherTasks: { name: 'watcher.task-submitted', bindings: ['task.submitted'], side: 'datacentre' },
  /** One per site: each cleaner owns one site's cache (SITE). */
  cleanerTransfers: { name: 'cleaner.file-transferred', bindings: ['file.transferred'], perSite: true, side: 'site' },
  ingestTransfers: { name: 'ingest.file-transferred', bindings: ['file.transferred'], side: 'datacentre' },
  /** Give-ups (file.failed): the site's cleaner records them in the site's ledger and schedules the resend. One per site. */
  cleanerFailures: { name: 'cleaner.file-failed', bindings: ['file.failed'], perSite: true, side: 'site' },
  /**
   * A tap of give-ups for operators and tests following files. Bounded (oldest
   * dropped), not dead-lettered: the ledger, the cleaner's API and its metrics
   * are the record. Replaces the unconsumed holding queue `file-failed`, which
   * grew forever (migration: shovel `<prefix>.file-failed` into
   * `<prefix>.cleaner.file-failed`, then delete it and its `.dlq`).
   */
  failedFiles: { name: 'file-failures', bindings: ['file.failed'], tap: true, side: 'datacentre' },
  /**
   * A tap of terminal outcomes (deleted from the cache, registered in
   * Clowder): every publish is routable, and the demo, the benchmarks and
   * operators can follow files to their end. Bounded (oldest dropped), not
   * dead-lettered: nothing depends on consuming it.
   */
  outcomes: { name: 'file-outcomes', bindings: ['file.deleted', 'file.ingested'], tap: true, side: 'datacentre' },
  /**
   * Log lines the log-tailer must not guess about (ambiguous names, paths
   * outside the cache root): published raw to the dead-letter exchange with
   * this queue's name as routing key, so they land in its DLQ, with the
   * reason in headers, for an operator. Nothing is bound to the queue itself.
   */
  tailerRejects: { name: 'log-tailer.rejects', bindings: [], side: 'site' },
  /**
   * The transfer log (PostgreSQL) records every event: bound to every type
   * the contracts know, so an event type added there is recorded without a
   * change here. Not `#`: a routing key no contract names must stay
   * unroutable, so its publisher fails (UNROUTABLE) instead of only being logged.
   */
  transferLog: { name: 'transfer-log.events', bindings: MESSAGE_TYPES, side: 'datacentre' },
} as const satisfies Record<string, { name: string; bindings: readonly MessageType[]; tap?: true; perSite?: true; side: BrokerSide }>;

export type QueueKey = keyof typeof QUEUES;
export type PerSiteQueueKey = { [K in QueueKey]: (typeof QUEUES)[K] extends { perSite: true } ? K : never }[QueueKey];
export type AllSitesQueueKey = Exclude<QueueKey, PerSiteQueueKey>;

/** A queue of the topology: an all-site queue by key, or a per-site queue with its site. */
export type QueueRef = AllSitesQueueKey | { key: PerSiteQueueKey; site: string };

export interface DeclaredQueue {
  key: QueueKey;
  /** The site of a per-site queue. */
  site?: string;
  name: string;
  deadLetter: string;
  /** Routing keys bound to the events exchange. */
  bindings: readonly string[];
  tap: boolean;
}

export interface Topology {
  /** Topic exchange every event is published to, with routingKey(event) as routing key. */
  eventsExchange: string;
  /** Exchange dead letters go to; routing key = the source queue's full name. */
  deadLetterExchange: string;
  /** Every site of the site file: the per-site queues declared. */
  sites: readonly string[];
  queue(ref: QueueRef): string;
  deadLetterQueue(ref: QueueRef): string;
  /**
   * Every consumer queue (per-site ones for every site) with its bindings, for declaration; on a
   * broker of one side, that side's queues only. `tap` queues are bounded and not dead-lettered.
   */
  queues(): DeclaredQueue[];
  /** The broker side this topology declares; absent: one broker holds everything. */
  side?: BrokerSide;
  /**
   * Two brokers only: the link to the other side's broker. `outbox` is this side's durable queue
   * a shovel empties into the other broker's `inbound` exchange: bound (to `eventsExchange` only)
   * to every key a queue of the other side binds. `inboundExchange` is where the other side's
   * shovel delivers here; this side's queues are bound to it with the same keys as to
   * `eventsExchange`, and the outbox is not, so an event crosses once and never comes back.
   */
  link?: { outbox: { name: string; bindings: readonly string[] }; inboundExchange: string; shovelName: string; otherSide: BrokerSide };
}

/**
 * The routing key of an event: `<type>.<site>` for the site-routed types,
 * the type otherwise. The one place routing is decided; publishers never
 * choose it (the platform's publish calls this).
 */
export function routingKey(event: { type: MessageType; data: unknown }): string {
  if (!siteRouted(event.type)) return event.type;
  return `${event.type}.${(event.data as { site: string }).site}`;
}

/**
 * The keys a queue binds for a type: its site's key for a per-site queue, and
 * for an all-site queue one key per known site, never a wildcard: an event of
 * a site no one serves must stay unroutable (its publisher fails UNROUTABLE)
 * rather than reach only the all-site queues (the transfer log) and be lost to
 * the pipeline.
 */
function bindingKeys(type: MessageType, site: string | undefined, sites: readonly string[]): string[] {
  if (!siteRouted(type)) return [type];
  return (site === undefined ? sites : [site]).map((s) => `${type}.${s}`);
}

function isPerSite(key: QueueKey): key is PerSiteQueueKey {
  return 'perSite' in QUEUES[key];
}

/**
 * Names under a prefix, with the per-site queues of `sites`. Production uses
 * the default prefix `terra`; tests use a fresh prefix each so they never
 * touch each other's queues.
 */
export function topology(prefix = 'terra', sites: readonly string[] = [], side?: BrokerSide): Topology {
  for (const s of sites) if (!SITE_NAME.test(s)) throw new Error(`site name ${JSON.stringify(s)} cannot name a queue (${SITE_NAME.source})`);
  const nameOf = (ref: QueueRef): string => {
    if (typeof ref === 'string') {
      if (isPerSite(ref)) throw new Error(`queue ${ref} is one per site: name its site`);
      return `${prefix}.${QUEUES[ref].name}`;
    }
    if (!SITE_NAME.test(ref.site)) throw new Error(`site name ${JSON.stringify(ref.site)} cannot name a queue`);
    return `${prefix}.${QUEUES[ref.key].name}.${ref.site}`;
  };
  const queue = (ref: QueueRef): string => {
    const key = typeof ref === 'string' ? ref : ref.key;
    // A service on the wrong broker would consume a queue nobody feeds: say so at its start.
    if (side !== undefined && QUEUES[key].side !== side) throw new Error(`queue ${QUEUES[key].name} lives on the ${QUEUES[key].side} broker, not on this ${side} broker (AMQP_SIDE)`);
    return nameOf(ref);
  };
  const deadLetterQueue = (ref: QueueRef) => `${queue(ref)}.dlq`;
  const declared = (key: QueueKey, site?: string): DeclaredQueue => {
    const ref = (site === undefined ? key : { key, site }) as QueueRef;
    return {
      key, ...(site !== undefined ? { site } : {}), name: nameOf(ref), deadLetter: `${nameOf(ref)}.dlq`,
      bindings: QUEUES[key].bindings.flatMap((t: MessageType) => bindingKeys(t, site, sites)), tap: 'tap' in QUEUES[key],
    };
  };
  const all = (): DeclaredQueue[] => (Object.keys(QUEUES) as QueueKey[]).flatMap((key) => (isPerSite(key) ? sites.map((s) => declared(key, s)) : [declared(key)]));
  const t: Topology = {
    eventsExchange: `${prefix}.events`,
    deadLetterExchange: `${prefix}.dlx`,
    sites: Object.freeze([...sites]),
    queue,
    deadLetterQueue,
    queues: () => (side === undefined ? all() : all().filter((q) => QUEUES[q.key].side === side)),
  };
  if (side === undefined) return t;
  const otherSide: BrokerSide = side === 'site' ? 'datacentre' : 'site';
  const crossing = [...new Set(all().filter((q) => QUEUES[q.key].side === otherSide).flatMap((q) => q.bindings))];
  const outbox = `${prefix}.shovel.${side === 'site' ? 'to-dc' : 'to-site'}`;
  return {
    ...t,
    side,
    link: {
      outbox: { name: outbox, bindings: crossing },
      inboundExchange: `${prefix}.events.inbound`,
      shovelName: `${prefix}-${side === 'site' ? 'site-to-dc' : 'dc-to-site'}`,
      otherSide,
    },
  };
}
