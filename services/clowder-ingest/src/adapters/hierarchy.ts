import type { ClowderClient } from '@terra-transfer/clowder';
import { TransientError } from '@terra-transfer/platform';
import type { IngestTelemetry } from '../telemetry.js';
import type { Kind, Ledger } from './ledger.js';
import { attempt } from './retry.js';

export interface HierarchyOptions {
  attempts: number;
  retryBaseMs: number;
}

/**
 * Ensures the space, the collection chain and the dataset exist exactly once.
 * Clowder has no unique names, so: the Redis name → id map answers first; a
 * miss takes the creation lock for that name, looks the name up in Clowder
 * (exact=true: a creation whose reply was lost, or a crash before the map was
 * written), creates only if nothing is found, re-queries and converges on the
 * lowest id, then records it. Concurrent handlers in one process share one
 * promise per name.
 */
/** How to find, create, re-link and discard one named Clowder object. */
interface EnsureOps {
  find: () => Promise<string[]>;
  create: () => Promise<string>;
  relink?: (id: string) => Promise<void>;
  discard?: (id: string) => Promise<void>;
}

export class Hierarchy {
  private readonly inflight = new Map<string, Promise<string>>();
  /** Converged ids never change, so they are kept in memory too. */
  private readonly known = new Map<string, string>();
  /**
   * Datasets this process created a moment ago, so nothing can be in them
   * yet that Redis does not know: the first file batch and the first
   * metadata post may skip their check against Clowder (one request each).
   * Each entry is taken once; a restarted worker has none, so it checks.
   */
  private readonly freshFiles = new Set<string>();
  private readonly freshMetadata = new Set<string>();

  constructor(
    private readonly clowder: ClowderClient,
    private readonly ledger: Ledger,
    private readonly telemetry: IngestTelemetry,
    private readonly opts: HierarchyOptions,
  ) {}

  space(name: string, signal?: AbortSignal): Promise<string> {
    return this.ensure('space', 'global', name, signal, {
      find: async () => (await this.clowder.findSpaces(name)).map((s) => s.id),
      create: () => this.clowder.createSpace(name, ''),
    });
  }

  /**
   * The chain root first; returns the ids in the same order. Built as
   * terrautils' build_dataset_hierarchy builds it: every level is created
   * with newCollectionWithParent {name, parentId, space}, so every level
   * carries the space (and is a root collection in it), the sensor level has
   * no parent. A level found by name (made by the original pipeline, or before
   * a crash) is reused; only the links it lacks are added, so collections
   * owned by someone else need no write unless a link is really missing.
   */
  async collections(chain: readonly string[], spaceId: string, signal?: AbortSignal): Promise<string[]> {
    const ids: string[] = [];
    for (const [i, name] of chain.entries()) {
      const parent = i === 0 ? undefined : ids[i - 1];
      ids.push(
        await this.ensure('collection', spaceId, name, signal, {
          find: async () => (await this.clowder.findCollections(name)).map((c) => c.id),
          create: () => this.clowder.createCollectionWithParent(parent ? { name, parentId: parent, space: spaceId } : { name, space: spaceId }),
          relink: async (id) => {
            const c = await this.clowder.getCollection(id);
            if (parent && !c.parentCollectionIds.includes(parent)) await this.clowder.addSubCollection(parent, id);
            if (!c.spaces.includes(spaceId)) await this.clowder.addCollectionToSpace(spaceId, id);
          },
          // As for datasets: a duplicate we just made (a lock lost mid-request) has nothing in it yet.
          discard: (id) => this.clowder.deleteCollection(id),
        }),
      );
    }
    return ids;
  }

  /** Whether takeFresh would answer true now (nothing taken). */
  isFresh(what: 'files' | 'metadata', datasetId: string): boolean {
    return (what === 'files' ? this.freshFiles : this.freshMetadata).has(datasetId);
  }

  /** True once for a dataset this process created (see freshFiles). */
  takeFresh(what: 'files' | 'metadata', datasetId: string): boolean {
    return (what === 'files' ? this.freshFiles : this.freshMetadata).delete(datasetId);
  }

  dataset(name: string, collectionId: string, spaceId: string, signal?: AbortSignal): Promise<string> {
    const seen = new Map<string, string[]>();
    return this.ensure('dataset', spaceId, name, signal, {
      find: async () =>
        (await this.clowder.findDatasets(name)).map((d) => {
          seen.set(d.id, d.spaces);
          return d.id;
        }),
      create: () => this.clowder.createDataset({ name, spaces: [spaceId], collections: [collectionId] }),
      // Found (the original pipeline's, or made before a crash): add only the links it lacks. Collection
      // membership is not in the dataset's JSON; adding it is $addToSet and needs only an editor role.
      relink: async (id) => {
        await this.clowder.addDatasetToCollection(collectionId, id);
        if (!(seen.get(id) ?? []).includes(spaceId)) await this.clowder.addDatasetToSpace(spaceId, id);
      },
      // A duplicate we just made (only possible after a lock expired mid-request) is empty: remove it.
      discard: (id) => this.clowder.deleteDataset(id),
    });
  }

  private ensure(
    kind: Kind,
    scope: string,
    name: string,
    signal: AbortSignal | undefined,
    ops: EnsureOps,
  ): Promise<string> {
    const memo = `${kind}\u0000${scope}\u0000${name}`;
    const known = this.known.get(memo);
    if (known) return Promise.resolve(known);
    let p = this.inflight.get(memo);
    if (!p) {
      p = this.resolve(kind, scope, name, signal, ops).then(
        (id) => {
          // Bounded: Redis holds the map; this only saves a round trip for names in current use.
          if (this.known.size >= 100_000) this.known.clear();
          this.known.set(memo, id);
          this.inflight.delete(memo);
          return id;
        },
        (err: unknown) => {
          this.inflight.delete(memo);
          throw err;
        },
      );
      this.inflight.set(memo, p);
    }
    return p;
  }

  private async resolve(
    kind: Kind,
    scope: string,
    name: string,
    signal: AbortSignal | undefined,
    ops: EnsureOps,
  ): Promise<string> {
    const cached = await this.ledger.getId(kind, scope, name);
    if (cached) return cached;
    // Keyed by name alone, not by scope: the lookup below searches Clowder by name across every space, so
    // two sites creating the same name (two drone sites' `drone - 2026-06-01` under a shared parent) must
    // exclude each other; a lock per space let both find nothing and both create (decision 0043).
    const release = await this.ledger.lock(`${kind}:${name}`, signal);
    try {
      const again = await this.ledger.getId(kind, scope, name);
      if (again) return again;
      const id = await attempt(this.opts.attempts, this.opts.retryBaseMs, async () => {
        const existing = await ops.find();
        if (existing.length > 0) {
          this.telemetry.foundExisting(kind, existing.length);
          await ops.relink?.(existing[0]!);
          return existing[0]!;
        }
        // Fenced: a holder that stalled past the lock's TTL may have been overtaken; it looks again instead.
        if (!(await release.held())) throw new TransientError('LOCK_LOST', `lock on ${kind} ${name} expired before its creation; looking again`);
        const created = await ops.create();
        this.telemetry.created(kind);
        const after = await ops.find();
        if (after.length === 0) throw new TransientError('CLOWDER_NOT_VISIBLE', `${kind} ${name} was created (${created}) but is not found by name yet`);
        if (after.length > 1) {
          this.telemetry.duplicate(kind, name, after.length);
          if (after[0] !== created) {
            // Converging on another's record: give it the links ours had, then drop ours where we can.
            await ops.relink?.(after[0]!);
            if (ops.discard) await ops.discard(created).catch(() => undefined);
          }
        }
        if (kind === 'dataset' && after[0] === created) {
          this.freshFiles.add(created);
          this.freshMetadata.add(created);
        }
        return after[0]!;
      }, signal);
      return await this.ledger.setId(kind, scope, name, id);
    } finally {
      await release().catch(() => undefined);
    }
  }
}
