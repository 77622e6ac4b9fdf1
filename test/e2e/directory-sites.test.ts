/**
 * The directory sources end to end, each with its own Globus source endpoint
 * (its folder), destination and Clowder space, started from the site file by
 * the local stack: a drone site (files taken once settled) and a sequencer
 * site (run folders taken when their marker arrives).
 *
 * - A file still being written is not sent until it settles; then it arrives whole.
 * - A run folder whose marker arrives last: nothing of it is sent before the
 *   marker; then the whole run arrives, marker included.
 * - A file rewritten after it was sent is sent again: the destination holds
 *   the new content and Clowder one file for the path.
 * Both sites' policy is `never`: every file stays in its folder.
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { directorySite, destinationPathOf, InstrumentWriter, localProcesses, localStack, prepareLayout, verifySites, writeSitesFile, type ExpectedFile } from '@terra-transfer/stack';
import { loadSites, ownedRoot } from '@terra-transfer/sites';
import { deleteKeys, deleteTopology, freePort, tempDir, uniquePrefix, waitFor } from '@terra-transfer/testkit';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

it('directory sites: unsettled files wait, a run waits for its marker, a rewritten file is sent again and registered once', async () => {
  const dir = await tempDir('e2e-dirs');
  const prefix = uniquePrefix('e2edir');
  const work = join(dir.path, 'work');
  const sitesFile = writeSitesFile(join(dir.path, 'conf'), [
    directorySite(work, { name: 'drone', index: 1, whitelist: ['drone'] }),
    directorySite(work, { name: 'seq', index: 2, whitelist: ['NovaSeq'], markers: ['RTAComplete.txt'] }),
  ]);
  const sites = loadSites(sitesFile);
  const ports = Object.fromEntries(await Promise.all(localProcesses(sites, false).map(async (p) => [p.name, await freePort()])));
  const { stack, layout } = localStack({ workDir: work, prefix, ports, sitesFile, logLevel: 'warn' });
  await prepareLayout(layout);
  for (const s of sites.sites) await mkdir(ownedRoot(s.source).root, { recursive: true });
  const drone = sites.get('drone');
  const seq = sites.get('seq');
  const droneRoot = ownedRoot(drone.source).root;
  const expected: Record<string, ExpectedFile[]> = { drone: [], seq: [] };
  const atDest = async (site: typeof drone, rel: string) => readFile(destinationPathOf(site, rel)).then(md5, () => null);
  const sent = (name: string) => stack.metric(name, 'terra_transfer_directory_files_sent_total');

  try {
    await stack.start();

    // A drone image still being written: appended every 0.5 s for 5 s (settleSeconds 2): never sent meanwhile.
    const growing = 'drone/2026-06-01/2026-06-01__10-00-00-000/IMG_00001.tif';
    await mkdir(join(droneRoot, 'drone/2026-06-01/2026-06-01__10-00-00-000'), { recursive: true });
    const parts: Buffer[] = [];
    for (let i = 0; i < 10; i++) {
      const part = Buffer.alloc(1000, `part ${i} `);
      parts.push(part);
      await appendFile(join(droneRoot, growing), part);
      await new Promise((r) => setTimeout(r, 500));
      expect(await sent('directory-source')).toBe(0);
    }
    const whole = Buffer.concat(parts);
    expected['drone']!.push({ rel: growing, size: whole.length, md5: md5(whole), versions: 2 });

    // A sequencer run: its files first, the marker only after longer than the settle time. Nothing is sent before the marker.
    const run = new InstrumentWriter(seq);
    const runDir = 'NovaSeq/2026-06-02/2026-06-02__08-00-00-000';
    for (let k = 1; k <= 3; k++) expected['seq']!.push(await run.write(`${runDir}/S${k}_L001_R1_001.fastq.gz`, Buffer.alloc(2000 + k, `read ${k} `)));
    await new Promise((r) => setTimeout(r, 4_000));
    expect(await sent('directory-source-seq')).toBe(0);
    for (const f of expected['seq']!) expect(await atDest(seq, f.rel)).toBeNull();
    expected['seq']!.push(await run.write(`${runDir}/RTAComplete.txt`, Buffer.from('done\n')));

    await waitFor('the settled image and the whole run arrived', async () => (await atDest(drone, growing)) === md5(whole)
      && (await Promise.all(expected['seq']!.map(async (f) => (await atDest(seq, f.rel)) === f.md5))).every(Boolean), 60_000, 500);
    await waitFor('registered in Clowder', async () => (await stack.metric('clowder-ingest', 'terra_transfer_clowder_files_ingested_total')) >= 5, 30_000, 500);

    // The image rewritten after it was sent: sent again, new content at the destination, still one Clowder file.
    const rewritten = Buffer.alloc(1500, 'rewritten ');
    await writeFile(join(droneRoot, growing), rewritten);
    expected['drone'] = [{ rel: growing, size: rewritten.length, md5: md5(rewritten), versions: 2 }];
    await waitFor('the new content arrived', async () => (await atDest(drone, growing)) === md5(rewritten), 60_000, 500);
    await waitFor('the Clowder file replaced', async () => (await stack.metric('clowder-ingest', 'terra_transfer_clowder_files_replaced_total')) >= 1, 30_000, 500);

    const { sites: per, all } = await verifySites(stack, sites, expected, { globusDetail: true });
    expect(per['drone']).toMatchObject({ arrived: 1, missing: [], gone: [] });
    expect(per['seq']).toMatchObject({ arrived: 4, missing: [], gone: [] });
    expect(all.clowder).toMatchObject({ files: 5, distinctFilePaths: 5, duplicates: 0 });
    expect(all.globus.pathsTransferredTwice).toEqual([]);
    expect(Object.values(all.deadLettered).every((n) => n === 0)).toBe(true);
    expect(await sent('directory-source')).toBe(2);
    expect(await sent('directory-source-seq')).toBe(4);
  } catch (err) {
    const logs = [...stack.procs.values()].map((p) => `--- ${p.name}:\n${p.output().split('\n').slice(-12).join('\n')}`).join('\n');
    throw new Error(`${String(err)}\n${logs}`, { cause: err });
  } finally {
    await stack.killAll();
    await deleteTopology(prefix).catch(() => undefined);
    await deleteKeys(prefix).catch(() => undefined);
    await dir.remove();
  }
}, 150_000);
