/**
 * The lemnatec source against the machine's PostgreSQL (a test Scanalyzer),
 * RabbitMQ and Redis: what it publishes for each awkward case of the
 * instrument's database. (The whole pipeline, Clowder included: test/e2e/danforth.test.ts.)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { DANFORTH_VIEWS, TestScanalyzer } from '@terra-transfer/stack';
import { tempDir, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { SchemaMismatchError } from '../src/adapters/scanalyzer.js';
import { SourceHarness } from './helpers.js';

const dbName = (p: string) => p.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 40);

describe('lemnatec-source on a test Scanalyzer', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let lt: TestScanalyzer;
  const base = dbName(uniquePrefix('lt'));
  let n = 0;
  const harnesses: SourceHarness[] = [];
  const blobRoot = () => join(dir.path, 'blobs');

  /** A fresh experiment database and a source (own prefix, own staging) serving only it. */
  async function setup(o: { waterColumn?: string; columns?: Record<string, string>; start?: boolean } = {}) {
    const db = `${base}_e${++n}`;
    await lt.addExperiment(db, o.waterColumn ? { waterColumn: o.waterColumn } : {});
    const h = new SourceHarness();
    harnesses.push(h);
    const staging = join(dir.path, `staging${n}`);
    if (o.start !== false) await h.start({ systemUrl: lt.systemUrl, blobRoot: blobRoot(), stagingRoot: staging, experiments: [db], ...(o.columns ? { columns: o.columns } : {}) });
    return { db, h, staging };
  }

  beforeAll(async () => {
    dir = await tempDir('lemnatec-source');
    lt = await TestScanalyzer.create({ systemDb: `${base}_sys`, blobRoot: join(dir.path, 'blobs'), small: true });
  });

  afterAll(async () => {
    for (const h of harnesses) {
      await h.stop().catch(() => undefined);
      await h.cleanup();
    }
    await lt?.drop();
    await dir?.remove();
  });

  it('a snapshot committed in pieces is sent once, whole: metadata.json first, then its ten PNGs', async () => {
    const { db, h } = await setup();
    const writing = lt.snapshot(db, { pieceDelayMs: 300, time: new Date('2026-05-01T10:00:00.123Z') });
    // While rows arrive (completed = false), nothing is sent.
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 300));
      await h.collect();
      expect(h.uploads).toEqual([]);
    }
    const snap = await writing;
    await waitFor('11 files published', async () => (await h.collect(), h.uploads.length >= 11), 30_000, 100);
    await new Promise((r) => setTimeout(r, 1_000));
    await h.collect();
    expect(h.uploads).toHaveLength(11);
    expect(new Set(h.uploads.map((u) => u.data.uploadId)).size).toBe(11);
    const folder = 'ddpscIndoorSuite/2026-05-01/2026-05-01__10-00-00-123';
    expect([...h.byFolder().keys()]).toEqual([folder]);
    expect(h.uploads[0]!.data.path.endsWith(`${folder}/metadata.json`)).toBe(true);
    expect(h.uploads.slice(1).map((u) => u.data.path.split('/').pop()).sort()).toEqual(snap.images.map((i) => `${i.label}_${i.oid}.png`).sort());
    expect(h.uploads.every((u) => u.data.source === 'lemnatec' && u.data.site === 'danforth' && u.data.sensor === 'ddpscIndoorSuite')).toBe(true);
    // The metadata: experiment block, the snapshot's fields, the barcode decoded, every image's camera fields.
    const md = JSON.parse(await readFile(h.uploads[0]!.data.path, 'utf8'));
    expect(md).toMatchObject({ title: 'Bellwether 2026', snapshot_id: snap.id, database: db, species: 'Sorghum bicolor', genotype: 'BTx642', treatment: '80%: 173.6 ml water' });
    expect(md.images[`VIS_SV_90_z1_h1_g0_e82_${snap.images[1]!.oid}.png`]).toMatchObject({ camera_type: 'visible/RGB', perspective: 'side-view', rotation_angle: 90, zoom: 1 });
    // The PNGs decode to the tile's size and depth (VIS 8-bit, NIR 16-bit).
    const vis = h.uploads.find((u) => u.data.path.includes('VIS_TV'))!;
    const nir = h.uploads.find((u) => u.data.path.includes('NIR_TV'))!;
    expect(await sharp(await readFile(vis.data.path)).metadata()).toMatchObject({ width: 306, height: 257, depth: 'uchar', format: 'png', channels: 1 });
    expect(await sharp(await readFile(nir.data.path)).metadata()).toMatchObject({ width: 79, height: 63, depth: 'ushort', channels: 1 });
    expect(vis.data.size).toBe((await readFile(vis.data.path)).length);
  }, 90_000);

  it('a restart mid-snapshot resends nothing already confirmed and skips nothing', async () => {
    const { db, h: first, staging } = await setup({ start: false });
    let confirmed = 0;
    // The first process "crashes" after 4 confirmed publishes: every later publish hangs.
    await first.start({
      systemUrl: lt.systemUrl, blobRoot: blobRoot(), stagingRoot: staging, experiments: [db], maxInFlight: 1, imagesInFlight: 1,
      publish: async (e) => {
        if (confirmed >= 4) return new Promise<void>(() => undefined);
        await first.amqp.publish(e);
        confirmed++;
      },
    });
    await lt.snapshot(db);
    await lt.snapshot(db);
    await waitFor('4 confirmed', () => confirmed >= 4, 30_000, 50);
    await first.stop();
    await first.collect();
    expect(first.uploads).toHaveLength(4);
    const second = new SourceHarness(first.prefix);
    harnesses.push(second);
    await second.start({ systemUrl: lt.systemUrl, blobRoot: blobRoot(), stagingRoot: staging, experiments: [db] });
    await waitFor('the rest published', async () => (await second.collect(), second.uploads.length >= 18), 30_000, 100);
    await new Promise((r) => setTimeout(r, 1_000));
    await second.collect();
    const all = [...first.uploads, ...second.uploads].map((u) => u.data.uploadId);
    expect(all).toHaveLength(22);
    expect(new Set(all).size).toBe(22);
    expect(second.uploads.map((u) => u.data.uploadId).filter((id) => first.uploads.some((f) => f.data.uploadId === id))).toEqual([]);
  }, 90_000);

  it('a missing blob is retried, then reported as file.failed, without holding up other snapshots; a late blob is sent', async () => {
    const { db, h } = await setup();
    const bad = await lt.snapshot(db, { faults: { NIR_TV_z1_h1_g0_e35: 'missing', VIS_TV_z1_h1_g0_e82: 'late' }, lateMs: 300 });
    const good = await lt.snapshot(db);
    await waitFor('everything decided', async () => (await h.collect(), h.uploads.length >= 21 && h.failures.length >= 1), 30_000, 100);
    expect(h.failures).toHaveLength(1);
    const f = h.failures[0]!.data;
    expect(f).toMatchObject({ site: 'danforth', reason: 'BLOB_MISSING', attempts: 3, uploadId: `lt:danforth:${db}:${bad.id}:NIR_TV_z1_h1_g0_e35_${bad.images[9]!.oid}.png` });
    expect(f.detail).toContain(bad.images[9]!.blob);
    expect(h.uploads.some((u) => u.data.path.endsWith(`VIS_TV_z1_h1_g0_e82_${bad.images[4]!.oid}.png`))).toBe(true);
    expect(h.uploads.filter((u) => u.data.uploadId.includes(`:${good.id}:`))).toHaveLength(11);
    expect(await h.metric('terra_transfer_lemnatec_blob_retries_total')).toBeGreaterThanOrEqual(2);
    expect(await h.metric('terra_transfer_lemnatec_images_failed_total', 'reason="BLOB_MISSING"')).toBe(1);
  }, 60_000);

  it('two snapshots of the same instant become two dataset folders; a clock an hour behind and a new experiment database are taken', async () => {
    const { db, h } = await setup();
    const time = new Date('2026-05-02T08:30:00.500Z');
    const a = await lt.snapshot(db, { time });
    const b = await lt.snapshot(db, { time });
    const behind = await lt.snapshot(db, { time: new Date(Date.now() - 3_600_000) });
    await lt.snapshot(db, { views: [], waterAmount: 200 });
    await waitFor('33 files', async () => (await h.collect(), h.uploads.length >= 33), 30_000, 100).catch((e) => { throw new Error(`${String(e)}: ${JSON.stringify([...h.byFolder()].map(([k, v]) => [k, v.length]))}`); });
    const folders = h.byFolder();
    expect(folders.get('ddpscIndoorSuite/2026-05-02/2026-05-02__08-30-00-500')).toHaveLength(11);
    expect(folders.get('ddpscIndoorSuite/2026-05-02/2026-05-02__08-30-00-500_2')).toHaveLength(11);
    expect(folders.size).toBe(3);
    const metaOf = async (folder: string) => JSON.parse(await readFile(h.uploads.find((u) => u.data.path.endsWith(`${folder}/metadata.json`))!.data.path, 'utf8'));
    expect([(await metaOf('2026-05-02__08-30-00-500')).snapshot_id, (await metaOf('2026-05-02__08-30-00-500_2')).snapshot_id].sort()).toEqual([a.id, b.id].sort());
    expect(h.uploads.some((u) => u.data.uploadId.includes(`:${behind.id}:`))).toBe(true);
    expect(await h.metric('terra_transfer_lemnatec_snapshots_total', 'outcome="watering_only"')).toBe(1);
  }, 60_000);

  it('bad input: a non-ZIP blob and a wrong raw size fail that image only; an unknown label and barcode are sent with a warning counted', async () => {
    const { db, h } = await setup();
    const s = await lt.snapshot(db, {
      barcode: 'XX9', views: [...DANFORTH_VIEWS.slice(0, 3), 'vis_sv0_weird'],
      faults: { VIS_SV_0_z1_h1_g0_e82: 'not-zip', VIS_SV_90_z1_h1_g0_e82: 'wrong-size' },
    });
    await waitFor('decided', async () => (await h.collect(), h.uploads.length >= 3 && h.failures.length >= 2), 30_000, 100);
    expect(h.failures.map((f) => f.data.reason).sort()).toEqual(['BLOB_NOT_ZIP', 'BLOB_SIZE_MISMATCH']);
    expect(h.failures.find((f) => f.data.reason === 'BLOB_SIZE_MISMATCH')!.data.detail).toMatch(/holds \d+ bytes; 306×257 needs 78642/);
    expect(h.uploads.map((u) => u.data.path.split('/').pop()).sort()).toEqual([`VIS_SV_180_z1_h1_g0_e82_${s.images[2]!.oid}.png`, 'metadata.json', `vis_sv0_weird_${s.images[3]!.oid}.png`].sort());
    const md = JSON.parse(await readFile(h.uploads.find((u) => u.data.path.endsWith('metadata.json'))!.data.path, 'utf8'));
    expect(md).toMatchObject({ plant_barcode: 'XX9', barcode_undecoded: ['species', 'genotype', 'treatment', 'sample_id'] });
    expect(md.images[`vis_sv0_weird_${s.images[3]!.oid}.png`]).toMatchObject({ camera_label: 'vis_sv0_weird', camera_label_unparsed: true });
    expect(await h.metric('terra_transfer_lemnatec_warnings_total', 'kind="unknown_camera_label"')).toBe(1);
    expect(await h.metric('terra_transfer_lemnatec_warnings_total', 'kind="undecodable_barcode"')).toBe(1);
  }, 60_000);

  it('a database lacking a column: a start-up error naming it, or a configured mapping', async () => {
    const { db, h, staging } = await setup({ waterColumn: 'water_amount_g', start: false });
    await expect(h.start({ systemUrl: lt.systemUrl, blobRoot: blobRoot(), stagingRoot: staging, experiments: [db] })).rejects.toThrow(SchemaMismatchError);
    await expect(h.source.init()).rejects.toThrow(`database ${db} lacks column snapshot.water_amount`);
    await h.stop();
    const mapped = new SourceHarness();
    harnesses.push(mapped);
    await mapped.start({ systemUrl: lt.systemUrl, blobRoot: blobRoot(), stagingRoot: staging, experiments: [db], columns: { 'snapshot.water_amount': 'water_amount_g' } });
    await lt.snapshot(db, { views: DANFORTH_VIEWS.slice(0, 1) });
    await waitFor('sent', async () => (await mapped.collect(), mapped.uploads.length >= 2), 30_000, 100);
    const md = JSON.parse(await readFile(mapped.uploads[0]!.data.path, 'utf8'));
    expect(md.water_amount).toBe(-1);
  }, 60_000);

  it('takes every database LTSystem lists, including one added while running, and never writes to them', async () => {
    // Only this test's databases are listed (the others are marked removed, as LemnaTec does).
    for (const db of lt.databases) await lt.remove(db);
    const h = new SourceHarness();
    harnesses.push(h);
    const first = `${base}_e${++n}`;
    await lt.addExperiment(first);
    await h.start({ systemUrl: lt.systemUrl, blobRoot: blobRoot(), stagingRoot: join(dir.path, `staging${n}`) });
    const added = `${base}_e${++n}`;
    await lt.addExperiment(added);
    const s = await lt.snapshot(added, { views: DANFORTH_VIEWS.slice(0, 2) });
    await waitFor('the new database taken', async () => (await h.collect(), h.uploads.filter((u) => u.data.uploadId.startsWith(`lt:danforth:${added}:${s.id}:`)).length === 3), 30_000, 100);
    // Every session is read only.
    await expect((h.scanalyzer as unknown as { pool(db: string): { query(q: string): Promise<unknown> } }).pool(added).query('DELETE FROM snapshot')).rejects.toThrow(/read-only transaction/);
    expect(h.source.ready()).toBe(true);
  }, 60_000);
});
