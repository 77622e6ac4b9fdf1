import { createRegistry, type Logger } from '@terra-transfer/platform';
import { ingestTelemetry } from './telemetry.js';

describe('gantry metadata telemetry', () => {
  it('counts every gap but warns once per sensor, part and reason (never per file)', async () => {
    const warnings: unknown[] = [];
    const logger = { warn: (o: unknown) => warnings.push(o), info: () => undefined, debug: () => undefined } as unknown as Logger;
    const registry = createRegistry();
    const t = ingestTelemetry(logger, registry);
    for (let i = 0; i < 3; i++) {
      t.metadataPartMissing('experiment_metadata', 'betydb_unset', 'stereoTop');
      t.metadataPartMissing('experiment_metadata', 'betydb_unset', 'flirIrCamera');
      t.metadataConverted('generic', 'parSensor', 'no_sensor_converter');
    }
    const metrics = await registry.metrics();
    expect(metrics).toContain('terra_transfer_clowder_metadata_parts_missing_total{part="experiment_metadata",reason="betydb_unset"} 6');
    expect(metrics).toContain('terra_transfer_clowder_metadata_converted_total{result="generic"} 3');
    expect(metrics).toContain('terra_transfer_clowder_metadata_converted_total{result="lemnatec"} 0');
    expect(warnings).toEqual([
      expect.objectContaining({ sensor: 'stereoTop', part: 'experiment_metadata', reason: 'betydb_unset' }),
      expect.objectContaining({ sensor: 'flirIrCamera', part: 'experiment_metadata', reason: 'betydb_unset' }),
      expect.objectContaining({ sensor: 'parSensor', reason: 'no_sensor_converter' }),
    ]);
  });
});
