/**
 * make bench-metadata-conversion: CPU per gantry metadata.json converted as
 * terrautils' lemnatec.clean did (clean_json_keys, then the LemnaTec
 * conversion; no Clowder or BETYdb reads: those are cached or absent), on the
 * test fixtures, after a warm-up. One JSON line: µs of CPU (user + system) per
 * conversion for each fixture, BENCH_CONVERSIONS (default 20,000) each.
 */
import { readFileSync } from 'node:fs';
import { cleanLemnaTec } from '../src/core/lemnatec-clean.js';
import { cleanMetadata } from '../src/core/metadata.js';

const N = Number(process.env['BENCH_CONVERSIONS'] ?? 20_000);
const out: Record<string, number> = {};
for (const name of ['stereoTop', 'scanner3DTop']) {
  const c = JSON.parse(readFileSync(new URL(`../../test/fixtures/${name}.case.json`, import.meta.url), 'utf8')) as { sensor: string; metadata: Record<string, unknown> };
  const once = () => cleanLemnaTec(cleanMetadata(c.metadata) as Record<string, unknown>, { sensor: c.sensor, clowderUrl: 'http://clowder.example' });
  if (once().kind !== 'cleaned') throw new Error(`${name}: the fixture did not convert`);
  for (let i = 0; i < 2_000; i++) once();
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) once();
  const u = process.cpuUsage(t0);
  out[`${name}_us_cpu`] = Math.round(((u.user + u.system) / N) * 10) / 10;
}
process.stdout.write(`${JSON.stringify({ bench: 'metadata-conversion', conversions_each: N, ...out })}\n`);
