import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ObjectIdGenerator } from '../core/object-id.js';
import type { Collection, Dataset, FileRecord, MetadataRecord, Op, Space } from '../core/model.js';

const JOURNAL_VERSION = 1;

/**
 * The simulator's state: in memory, with every mutation appended to a
 * JSON-lines journal (written synchronously before the HTTP reply, so a
 * crash or restart of the process loses nothing it acknowledged) and
 * replayed on start. A torn last line (crash mid-write) is ignored.
 */
export class Store {
  readonly spaces = new Map<string, Space>();
  readonly collections = new Map<string, Collection>();
  readonly datasets = new Map<string, Dataset>();
  readonly files = new Map<string, FileRecord>();
  readonly metadata = new Map<string, MetadataRecord>();
  /** name → ids, so `exact=true` lookups use an index as Clowder's `name` index does. */
  readonly datasetsByName = new Map<string, Set<string>>();
  readonly collectionsByName = new Map<string, Set<string>>();
  /** `<type>:<id>` → metadata ids attached to it. */
  readonly metadataOf = new Map<string, string[]>();
  readonly ids: ObjectIdGenerator;
  private fd: number | undefined;
  private readonly journalPath: string | undefined;
  /** Torn lines skipped at replay (observable for tests). */
  readonly replay = { ops: 0, torn: 0 };

  constructor(opts: { dataDir?: string | undefined; now?: () => number } = {}) {
    this.ids = new ObjectIdGenerator(opts.now);
    if (opts.dataDir) {
      mkdirSync(join(opts.dataDir, 'blobs'), { recursive: true });
      this.journalPath = join(opts.dataDir, 'journal.jsonl');
      this.load();
      this.fd = openSync(this.journalPath, 'a');
    }
  }

  get blobDir(): string | undefined {
    return this.journalPath ? join(this.journalPath, '..', 'blobs') : undefined;
  }

  apply(op: Op): void {
    this.applyOne(op);
    if (this.fd !== undefined) writeSync(this.fd, `${JSON.stringify(op)}\n`);
  }

  /** Flushes the journal to disk and closes it. Idempotent. */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private load(): void {
    const path = this.journalPath!;
    if (!existsSync(path)) {
      writeFileSync(path, `${JSON.stringify({ journal: 'clowder-sim', version: JOURNAL_VERSION })}\n`);
      return;
    }
    const lines = readFileSync(path, 'utf8').split('\n');
    for (const [i, line] of lines.entries()) {
      if (!line) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        // Only the last line can be torn by a crash; anything else is corruption worth failing on.
        if (i >= lines.length - 2) {
          this.replay.torn++;
          continue;
        }
        throw new Error(`journal ${path} line ${i + 1} is not JSON`);
      }
      if (i === 0 && (parsed as { journal?: string }).journal === 'clowder-sim') {
        const v = (parsed as { version?: number }).version;
        if (v !== JOURNAL_VERSION) throw new Error(`journal ${path} has version ${String(v)}, expected ${JOURNAL_VERSION}`);
        continue;
      }
      this.applyOne(parsed as Op);
      this.replay.ops++;
    }
  }

  private applyOne(op: Op): void {
    switch (op.op) {
      case 'space':
        this.spaces.set(op.v.id, op.v);
        this.ids.observe(op.v.id);
        break;
      case 'collection':
        this.collections.set(op.v.id, op.v);
        index(this.collectionsByName, op.v.name, op.v.id);
        this.ids.observe(op.v.id);
        for (const p of op.v.parents) addTo(this.collections.get(p)?.children, op.v.id);
        for (const s of op.v.spaces) addTo(this.spaces.get(s)?.collections, op.v.id);
        break;
      case 'dataset':
        this.datasets.set(op.v.id, op.v);
        index(this.datasetsByName, op.v.name, op.v.id);
        this.ids.observe(op.v.id);
        for (const c of op.v.collections) addTo(this.collections.get(c)?.datasets, op.v.id);
        for (const s of op.v.spaces) addTo(this.spaces.get(s)?.datasets, op.v.id);
        break;
      case 'file':
        this.files.set(op.v.id, op.v);
        this.ids.observe(op.v.id);
        addTo(this.datasets.get(op.v.datasetId)?.files, op.v.id);
        break;
      case 'metadata':
        this.metadata.set(op.v.id, op.v);
        this.ids.observe(op.v.id);
        {
          const key = `${op.v.target.type}:${op.v.target.id}`;
          const list = this.metadataOf.get(key);
          if (list) list.push(op.v.id);
          else this.metadataOf.set(key, [op.v.id]);
        }
        break;
      case 'subcollection': {
        const parent = this.collections.get(op.parent);
        const child = this.collections.get(op.child);
        if (!parent || !child) break;
        addTo(parent.children, child.id);
        addTo(child.parents, parent.id);
        for (const s of parent.spaces) {
          addTo(child.spaces, s);
          addTo(this.spaces.get(s)?.collections, child.id);
        }
        break;
      }
      case 'collection-dataset': {
        const c = this.collections.get(op.collection);
        const d = this.datasets.get(op.dataset);
        if (!c || !d) break;
        addTo(c.datasets, d.id);
        addTo(d.collections, c.id);
        break;
      }
      case 'space-collection': {
        const s = this.spaces.get(op.space);
        const c = this.collections.get(op.collection);
        if (!s || !c) break;
        addTo(s.collections, c.id);
        addTo(c.spaces, s.id);
        break;
      }
      case 'space-dataset': {
        const s = this.spaces.get(op.space);
        const d = this.datasets.get(op.dataset);
        if (!s || !d) break;
        addTo(s.datasets, d.id);
        addTo(d.spaces, s.id);
        break;
      }
      case 'space-role': {
        const s = this.spaces.get(op.space);
        if (!s) break;
        s.roles = { ...s.roles, [op.user]: op.role };
        break;
      }
      case 'delete-dataset': {
        const d = this.datasets.get(op.id);
        if (!d) break;
        this.datasets.delete(d.id);
        this.datasetsByName.get(d.name)?.delete(d.id);
        for (const f of d.files) this.files.delete(f);
        for (const c of d.collections) removeFrom(this.collections.get(c)?.datasets, d.id);
        for (const s of d.spaces) removeFrom(this.spaces.get(s)?.datasets, d.id);
        break;
      }
      case 'delete-collection': {
        // Clowder's removeCollection unlinks (children, datasets, spaces keep existing; only the links go).
        const c = this.collections.get(op.id);
        if (!c) break;
        this.collections.delete(c.id);
        this.collectionsByName.get(c.name)?.delete(c.id);
        for (const p of c.parents) removeFrom(this.collections.get(p)?.children, c.id);
        for (const ch of c.children) removeFrom(this.collections.get(ch)?.parents, c.id);
        for (const d of c.datasets) removeFrom(this.datasets.get(d)?.collections, c.id);
        for (const s of c.spaces) removeFrom(this.spaces.get(s)?.collections, c.id);
        break;
      }
      case 'delete-file': {
        const f = this.files.get(op.id);
        if (!f) break;
        this.files.delete(f.id);
        removeFrom(this.datasets.get(f.datasetId)?.files, f.id);
        for (const m of this.metadataOf.get(`file:${f.id}`) ?? []) this.metadata.delete(m);
        this.metadataOf.delete(`file:${f.id}`);
        break;
      }
    }
  }
}

function index(map: Map<string, Set<string>>, name: string, id: string): void {
  let set = map.get(name);
  if (!set) map.set(name, (set = new Set()));
  set.add(id);
}

/** $addToSet */
function addTo(list: string[] | undefined, id: string): void {
  if (list && !list.includes(id)) list.push(id);
}

function removeFrom(list: string[] | undefined, id: string): void {
  if (!list) return;
  const i = list.indexOf(id);
  if (i >= 0) list.splice(i, 1);
}

/** Writes bytes of an uploaded file part beside the journal. */
export function writeBlob(dir: string, id: string, bytes: Buffer): string {
  const path = join(dir, id);
  writeFileSync(path, bytes);
  return path;
}
