import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { ClowderClient, ClowderRejectedError } from '@terra-transfer/clowder';
import { createEvent, transferredChunk, type IngestedFile, type Message, type TransferredFile } from '@terra-transfer/contracts';
import { AmqpClient, DEFAULT_PROBE_BACKOFF, PermanentError, UpstreamUnavailableError, buildHttp, mapSettled, settleChunk, sleep, waitUntilAvailable, type Consumer, type DeliveryContext, type HttpApp, type Logger, type Redis, type Registry } from '@terra-transfer/platform';
import { FileRegistrar } from './adapters/file-registrar.js';
import { ExperimentCollections } from './adapters/experiments.js';
import { Hierarchy } from './adapters/hierarchy.js';
import { Ledger } from './adapters/ledger.js';
import { MetadataAttacher } from './adapters/metadata.js';
import { MetadataConverter } from './adapters/metadata-conversion.js';
import type { BetyClient } from './adapters/betydb.js';
import type { SiteSettings } from './config.js';
import { agentUserUrl } from './core/metadata.js';
import { planFile } from './core/plan.js';
import { encodeVersion } from './core/versions.js';
import { ingestTelemetry, type IngestTelemetry } from './telemetry.js';

interface IngestSettings {
  sites: Readonly<Record<string, SiteSettings>>;
  redisPrefix: string;
  clowderUrl: string;
  agentUserId: string;
  metadataVocab: string;
  /** How long a sensor's fixed metadata read from Clowder is kept in memory (INGEST_FIXED_METADATA_TTL_MS; 10 minutes when absent). */
  fixedMetadataTtlMs?: number;
  extract: boolean;
  prefetch: number;
  /** Files of one chunk registered at once (INGEST_CHUNK_CONCURRENCY; 250 when absent). */
  chunkConcurrency?: number;
  batchWindowMs: number;
  batchMaxFiles: number;
  lockTtlMs: number;
  lockWaitMs: number;
  attempts: number;
  retryBaseMs: number;
  /** Waits between probes of an unavailable Clowder (at start, and while consuming is held for an outage). */
  probeMinMs?: number;
  probeMaxMs?: number;
  /** During an outage, how long a delivery waits before it is given back uncounted (platform default when absent). */
  outageHoldMs?: number;
}

export interface IngestDeps {
  settings: IngestSettings;
  logger: Logger;
  registry: Registry;
  amqp: AmqpClient;
  redis: Redis;
  clowder: ClowderClient;
  /** BETYdb, when configured: experiments and sites of gantry metadata come from it; absent, they are left out. */
  bety?: BetyClient;
  telemetry?: IngestTelemetry;
}

export interface IngestApp {
  http: HttpApp;
  /**
   * Waits for the broker, Redis and Clowder to answer (for as long as it
   * takes: an outage is not a reason to exit), then consumes file.transferred.
   * Resolves without consuming when stop() is called while it waits.
   */
  start(): Promise<void>;
  /** Stops consuming and sends the batches in progress. Idempotent. */
  stop(drainMs?: number): Promise<void>;
  /** One file.transferred chunk; without a delivery context (tests), a file given up fails the call with its code. */
  handle(event: Message<'file.transferred'>, ctx?: IngestContext): Promise<void>;
}

/** What the handler uses of a delivery. */
type IngestContext = Partial<Pick<DeliveryContext<'file.transferred'>, 'signal' | 'lastDelivery' | 'deadLetterPart'>>;

/** The consumer's "upstream" while Clowder refuses our writes (403): a fixed metric label. */
const FORBIDDEN_UPSTREAM = 'clowder-permissions';

/** Builds clowder-ingest from its dependencies (never listens, never reads the environment). */
export async function buildIngestApp(deps: IngestDeps): Promise<IngestApp> {
  const { settings: s, amqp, redis, clowder } = deps;
  const telemetry = deps.telemetry ?? ingestTelemetry(deps.logger, deps.registry);
  telemetry.sitesKnown(Object.keys(s.sites));
  const ledger = new Ledger(redis, s.redisPrefix, s.lockTtlMs, s.lockWaitMs);
  const hierarchy = new Hierarchy(clowder, ledger, telemetry, { attempts: s.attempts, retryBaseMs: s.retryBaseMs });
  const experiments = new ExperimentCollections(telemetry);
  const registrar = new FileRegistrar(clowder, ledger, telemetry, {
    windowMs: s.batchWindowMs,
    maxFiles: s.batchMaxFiles,
    extract: s.extract,
    attempts: s.attempts,
    retryBaseMs: s.retryBaseMs,
    takeFresh: (id) => hierarchy.takeFresh('files', id),
    isFresh: (id) => hierarchy.isFresh('files', id),
  });
  const agentUrl = agentUserUrl(s.clowderUrl, s.agentUserId);
  const converter = new MetadataConverter(clowder, telemetry, {
    clowderUrl: s.clowderUrl,
    fixedTtlMs: s.fixedMetadataTtlMs ?? 600_000,
    ...(deps.bety ? { bety: deps.bety } : {}),
  });
  const metadata = new MetadataAttacher(clowder, ledger, telemetry, {
    agentUserUrl: agentUrl,
    vocab: s.metadataVocab,
    convert: (content, origin) => converter.convert(content, origin.sensor, s.sites[origin.site]?.fixedMetadata ?? {}),
    attempts: s.attempts,
    retryBaseMs: s.retryBaseMs,
    takeFresh: (id) => hierarchy.takeFresh('metadata', id),
    isFresh: (id) => hierarchy.isFresh('metadata', id),
  });
  let clowderUp = false;
  const firstSpace = Object.values(s.sites)[0]?.space ?? 'terra';
  // The probe is the lookup every delivery starts with: Clowder answers it only when it can serve the ingest.
  const probeClowder = async () => {
    await clowder.findSpaces(firstSpace);
  };
  const probeBackoff = { minMs: s.probeMinMs ?? DEFAULT_PROBE_BACKOFF.minMs, maxMs: s.probeMaxMs ?? DEFAULT_PROBE_BACKOFF.maxMs };
  const starting = new AbortController();

  type ChunkFile = TransferredFile & { site: string };
  interface Ingested { key: string; file: IngestedFile }

  /** Registers one file of a chunk (its dataset, collections and space first); null: the site's layout skips it. */
  const ingestFile = async (d: ChunkFile, signal?: AbortSignal): Promise<Ingested | null> => {
    const planned = planFile(s.sites, d.site, d.destinationPath);
    if (planned.kind === 'invalid') throw new PermanentError(planned.code, planned.message);
    if (planned.kind === 'skip') {
      telemetry.skipped(planned.reason, d.destinationPath);
      return null;
    }
    const plan = planned.plan;
    const spaceId = plan.spaceId ?? (await hierarchy.space(plan.spaceName, signal));
    // An experiment site: the dataset's collection is its experiment's, named in its metadata.json.
    const chain = s.sites[d.site]?.collections === 'experiment'
      ? await experiments.chain(plan.isDatasetMetadata ? plan.localPath : join(dirname(plan.localPath), 'metadata.json'), plan.datasetName, plan.chain)
      : plan.chain;
    const collectionIds = await hierarchy.collections(chain, spaceId, signal);
    const datasetId = await hierarchy.dataset(plan.datasetName, collectionIds[collectionIds.length - 1]!, spaceId, signal);
    if (s.sites[d.site]?.metadataFirst && !plan.isDatasetMetadata) await metadata.attachFirst(datasetId, join(dirname(plan.localPath), 'metadata.json'), plan, signal);
    const version = encodeVersion({ mtimeMs: d.mtimeMs, size: d.size, checksum: d.checksum });
    // A site may keep its metadata.json out of the dataset's files (clowder.metadataAsFile: false, as TERRA did).
    const asFile = !plan.isDatasetMetadata || s.sites[d.site]?.metadataAsFile !== false;
    // Files of a chunk register concurrently: the registrar sends those of one dataset together (one batch per dataset and window).
    const fileId = asFile ? await registrar.register(datasetId, plan.clowderPath, version) : null;
    if (plan.isDatasetMetadata) await metadata.attachOnce(datasetId, plan.localPath, plan, signal);
    telemetry.ingested(d.site, plan.datasetName, fileId);
    return {
      // What names this outcome in the event id: the Clowder file, or the dataset and the version attached.
      key: fileId ?? `metadata:${datasetId}:${createHash('sha256').update(version).digest('hex').slice(0, 32)}`,
      file: {
        sensor: plan.sensor, destinationPath: d.destinationPath, clowderPath: plan.clowderPath, fileId, datasetId,
        datasetName: plan.datasetName, collectionIds, spaceId, uploadId: d.uploadId,
      },
    };
  };

  /**
   * A 403: the key may not write where this file goes (collections made by
   * someone else, no editor role in their space). Not the file's fault, so not
   * dead-lettered; not worth retrying at once either. It is reported as an
   * unavailable upstream, so the consumer holds deliveries (readiness false)
   * and probes with a backoff by registering the refused file again (the
   * registration is redelivery-safe); consuming resumes once the write is allowed.
   */
  let refused: ChunkFile | undefined;
  const ingestGuarded = async (d: ChunkFile, signal?: AbortSignal): Promise<Ingested | null> => {
    try {
      return await ingestFile(d, signal);
    } catch (err) {
      if (!(err instanceof ClowderRejectedError) || err.status !== 403) throw err;
      refused = d;
      telemetry.forbidden(d.site, d.destinationPath, err.detail);
      throw new UpstreamUnavailableError(FORBIDDEN_UPSTREAM, 'CLOWDER_WRITE_FORBIDDEN', `Clowder refused a write (403): ${err.detail}`, { cause: err });
    }
  };

  /**
   * Handles a file.transferred chunk (or a version-1 event: a chunk of one):
   * every file registered on its own, then one file.ingested names the files
   * registered and those given up (each also dead-lettered alone). Resolves
   * once that is confirmed; throws (the chunk comes back: requeued, or held
   * for an outage) when a file failed transiently, after publishing the
   * others, which the ledger makes no-ops then (decision 0053).
   */
  const handle = async (event: Message<'file.transferred'>, ctx: IngestContext = {}): Promise<void> => {
    const chunk = transferredChunk(event);
    const { site, taskId } = chunk;
    const files = chunk.files.map((f) => ({ ...f, site }));
    const settled = settleChunk(files, await mapSettled(files, s.chunkConcurrency ?? 250, (f) => ingestGuarded(f, ctx.signal)), ctx.lastDelivery ?? false);
    for (const d of settled.deadLetter) {
      const { site: _s, ...file } = d.item;
      const part = createEvent('file.transferred', `${event.id}:${d.item.uploadId}`.slice(0, 512), { site, taskId, chunk: chunk.chunk, files: [file] });
      if (!ctx.deadLetterPart) throw d.error;
      await ctx.deadLetterPart(part, d.code, d.detail);
    }
    const ingested = settled.done.flatMap((d) => (d.value ? [d.value] : []));
    const registered = ingested.map((i) => i.file);
    const failed = settled.deadLetter.map((d) => ({ path: d.item.destinationPath, uploadId: d.item.uploadId, code: d.code, detail: d.detail.slice(0, 1024) }));
    if (registered.length > 0 || failed.length > 0) {
      // The id is derived from what the event says (file ids, or datasets and versions): a redelivery that registers the same republishes the same event, which consumers de-duplicate.
      const digest = createHash('sha256');
      for (const i of ingested) digest.update(`${i.key}\n`);
      for (const f of failed) digest.update(`failed:${f.uploadId}:${f.code}\n`);
      await amqp.publish(createEvent('file.ingested', `file.ingested:${digest.digest('hex').slice(0, 40)}`, { site, taskId, files: registered, failed }));
    }
    if (settled.rethrow !== undefined) throw settled.rethrow;
  };
  const probe = async (upstream: string, signal?: AbortSignal) => {
    if (upstream === FORBIDDEN_UPSTREAM && refused) await ingestFile(refused, signal);
    else await probeClowder();
  };

  /** Every configured space id must exist: an unknown one is a configuration error, not something to create by name. */
  const checkSpaces = async () => {
    for (const [site, conf] of Object.entries(s.sites)) {
      if (!conf.spaceId) continue;
      try {
        await clowder.getSpace(conf.spaceId);
      } catch (err) {
        if (!(err instanceof ClowderRejectedError)) throw err;
        telemetry.spaceUnknown(site, conf.spaceId, err.detail);
        throw new PermanentError('CLOWDER_SPACE_UNKNOWN', `site ${site}: Clowder space ${conf.spaceId} is not known to Clowder (${err.status} ${err.detail})`);
      }
    }
  };

  const http = await buildHttp({
    service: 'clowder-ingest',
    description: 'Registers transferred files in Clowder (file.transferred → file.ingested).',
    logger: deps.logger,
    registry: deps.registry,
    checks: {
      broker: () => amqp.isConnected(),
      redis: () => redis.status === 'ready',
      // Asks Clowder for real (the same lookup the ingest does), bounded so a slow Clowder reads as not ready.
      // Not ready while waiting for Clowder at start, or while consuming is held for a Clowder outage.
      clowder: async () =>
        clowderUp &&
        consumer?.unavailable === undefined &&
        refusedNow() === false &&
        (await Promise.race([clowder.findSpaces(firstSpace).then(() => true, () => false), sleep(2_000).then(() => false)])),
    },
  });

  let consumer: Consumer<'file.transferred'> | undefined;
  const refusedNow = () => consumer?.unavailable === FORBIDDEN_UPSTREAM;
  let stopped: Promise<void> | undefined;
  return {
    http,
    handle,
    async start() {
      await amqp.start();
      await redis.ping();
      // Readiness before consumption: the Clowder API must answer. Down (unreachable, 502/503/504) is waited out;
      // a refusal (401: the key is not accepted) is a configuration error and fails the start.
      const answered = await waitUntilAvailable(() => probeClowder(), probeBackoff, starting.signal, {
        down: (e) => amqp.telemetry.upstreamDown('clowder', e.code, e.message),
        up: (ms, probes) => amqp.telemetry.upstreamUp('clowder', ms, probes),
      });
      if (!answered || stopped) return;
      amqp.telemetry.upstreamAnswering('clowder');
      await checkSpaces();
      clowderUp = true;
      consumer = amqp.consume('ingestTransfers', 'file.transferred', (event, ctx) => handle(event, ctx), {
        prefetch: s.prefetch,
        // A Clowder outage while consuming: hold deliveries (giving back uncounted those held too long), probe, resume (platform Consumer).
        // A 403 holds them the same way, probed by retrying the refused event.
        probe: (upstream, signal) => probe(upstream, signal),
        probeBackoff,
        ...(s.outageHoldMs !== undefined ? { outageHoldMs: s.outageHoldMs } : {}),
      });
      telemetry.ready(Object.keys(s.sites));
    },
    stop(drainMs = 10_000) {
      stopped ??= (async () => {
        starting.abort();
        // Stop intake first; the consumer waits for in-flight handlers, which need their batches sent.
        const stopping = consumer?.stop(drainMs);
        await registrar.drain();
        await stopping;
        await registrar.drain();
      })();
      return stopped;
    },
  };
}
