/**
 * The instrument's database unreachable (a TCP proxy in front of PostgreSQL,
 * cut then restored): the source is not ready meanwhile, and once it answers
 * again the snapshot committed during the outage is sent, once.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { DANFORTH_VIEWS, TestScanalyzer } from '@terra-transfer/stack';
import { freePort, tempDir, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { SourceHarness } from './helpers.js';

/** A TCP proxy to 127.0.0.1:5432 that can be cut (every connection closed, new ones refused) and restored. */
async function pgProxy(port: number) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const open = () => new Promise<void>((resolve) => {
    server = createServer((client) => {
      const upstream = connect(5432, '127.0.0.1');
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    }).listen(port, '127.0.0.1', () => resolve());
  });
  await open();
  return {
    open,
    cut: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server?.close(() => resolve());
    }),
  };
}

it('not ready while the instrument database is unreachable; resumes from its cursor when it is back', async () => {
  const dir = await tempDir('lemnatec-outage');
  const base = uniquePrefix('lto').toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 40);
  const lt = await TestScanalyzer.create({ systemDb: `${base}_sys`, blobRoot: join(dir.path, 'blobs'), small: true });
  const port = await freePort();
  const proxy = await pgProxy(port);
  const h = new SourceHarness();
  try {
    await lt.addExperiment(`${base}_e`);
    await h.start({ systemUrl: `postgres://postgres@127.0.0.1:${port}/${base}_sys`, blobRoot: join(dir.path, 'blobs'), stagingRoot: join(dir.path, 'staging') });
    await lt.snapshot(`${base}_e`, { views: DANFORTH_VIEWS.slice(0, 2) });
    await waitFor('the first snapshot', async () => (await h.collect(), h.uploads.length >= 3), 30_000, 100);
    expect(h.source.ready()).toBe(true);

    await proxy.cut();
    await waitFor('not ready', () => !h.source.ready(), 30_000, 100);
    expect(await h.metric('terra_transfer_lemnatec_database_up')).toBe(0);
    // Committed while the source cannot see the database.
    const during = await lt.snapshot(`${base}_e`, { views: DANFORTH_VIEWS.slice(0, 3) });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(h.source.ready()).toBe(false);

    await proxy.open();
    await waitFor('ready again', () => h.source.ready(), 30_000, 100);
    await waitFor('the snapshot of the outage sent', async () => (await h.collect(), h.uploads.filter((u) => u.data.uploadId.includes(`:${during.id}:`)).length >= 4), 30_000, 100);
    await new Promise((r) => setTimeout(r, 1_000));
    await h.collect();
    expect(h.uploads).toHaveLength(7);
    expect(new Set(h.uploads.map((u) => u.data.uploadId)).size).toBe(7);
  } finally {
    await h.stop().catch(() => undefined);
    await h.cleanup();
    await proxy.cut().catch(() => undefined);
    await lt.drop();
    await dir.remove();
  }
}, 120_000);
