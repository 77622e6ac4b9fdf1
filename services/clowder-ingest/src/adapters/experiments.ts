import { readFile } from 'node:fs/promises';
import { TransientError } from '@terra-transfer/platform';
import { experimentOf } from '../core/plan.js';
import type { IngestTelemetry } from '../telemetry.js';

/** Datasets whose experiment is remembered (a snapshot's 10 images ask for the same one). */
const REMEMBERED = 2_000;

/**
 * The collection chain of an `experiment` site (decision 0010): the one
 * collection of the dataset's experiment, read from the metadata.json beside
 * the file. It is read before the dataset is found or created, so a dataset is
 * made in its experiment's collection from the start. Not arrived yet: a
 * transient error, as for a metadata-first site's images (the delivery comes
 * back after a backoff). Not JSON, or no experiment named: the sensor/date
 * chain, counted and logged, never a dead letter (the file is not at fault).
 */
export class ExperimentCollections {
  private readonly known = new Map<string, string>();

  constructor(private readonly telemetry: IngestTelemetry) {}

  async chain(metadataPath: string, datasetName: string, fallback: readonly string[]): Promise<readonly string[]> {
    const had = this.known.get(metadataPath);
    if (had !== undefined) return [had];
    let text: string;
    try {
      text = await readFile(metadataPath, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new TransientError('METADATA_NOT_ARRIVED', `${metadataPath} has not arrived: the dataset's experiment (its collection) is named there`, { cause: err });
      throw new TransientError('METADATA_READ', `${metadataPath}: ${String(err)}`, { cause: err });
    }
    let experiment: string | null;
    try {
      experiment = experimentOf(JSON.parse(text));
    } catch (err) {
      this.telemetry.experimentUnknown(datasetName, metadataPath, `not JSON: ${(err as Error).message}`);
      return fallback;
    }
    if (experiment === null) {
      this.telemetry.experimentUnknown(datasetName, metadataPath, 'names no experiment (neither `experiment` nor `database`)');
      return fallback;
    }
    if (this.known.size >= REMEMBERED) this.known.delete(this.known.keys().next().value!);
    this.known.set(metadataPath, experiment);
    return [experiment];
  }
}
