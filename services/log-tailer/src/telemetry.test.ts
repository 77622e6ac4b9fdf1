import { expect, it } from '@jest/globals';
import { createRegistry } from '@terra-transfer/platform';
import { testLogger } from '@terra-transfer/testkit';
import { LINE_OUTCOMES, tailerTelemetry } from './telemetry.js';

it('has a 0 series for every line outcome before any line, and counts on top of it', async () => {
  const registry = createRegistry();
  const t = tailerTelemetry(testLogger(), registry);
  const read = async () => Object.fromEntries((await registry.getSingleMetric('terra_transfer_xferlog_lines_total')!.get()).values.map((v) => [v.labels['outcome'], v.value]));
  expect(await read()).toEqual(Object.fromEntries(LINE_OUTCOMES.map((o) => [o, 0])));
  t.skipped('not_whitelisted', '/var/log/xferlog', 0);
  expect((await read())['not_whitelisted']).toBe(1);
  expect((await read())['too_long']).toBe(0);
});
