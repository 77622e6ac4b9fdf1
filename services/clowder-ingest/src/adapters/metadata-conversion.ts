import { ClowderProtocolError, ClowderRejectedError, type ClowderClient } from '@terra-transfer/clowder';
import { experimentMetadata, siteMetadata, sitesOnDate } from '../core/betydb-records.js';
import { cleanLemnaTec, SCANALYZER, type CleanNote } from '../core/lemnatec-clean.js';
import { cleanMetadata, isGantryMetadata } from '../core/metadata.js';
import type { IngestTelemetry } from '../telemetry.js';
import { BetyError, type BetyClient } from './betydb.js';

type Obj = Record<string, unknown>;

/** Which part of the record each note leaves out (a metric label). */
const PART_OF: Record<CleanNote, string> = {
  gantry_fixed_metadata_unconfigured: 'gantry_fixed_metadata',
  sensor_fixed_metadata_unconfigured: 'sensor_fixed_metadata',
  sensor_fixed_metadata_absent: 'spatial_metadata',
  spatial_inputs_missing: 'spatial_metadata',
  script_name_unparsed: 'gantry_variable_metadata.script_name',
};

/**
 * terrautils' `clean_metadata` with its network inputs made explicit: a
 * gantry metadata.json (`lemnatec_measurement_metadata` at the top) is
 * converted as `lemnatec.clean` did, given the sensor (from the site's
 * naming rules), the site's fixed-metadata dataset ids (read from Clowder,
 * kept in memory for `fixedTtlMs`) and, when configured, BETYdb. Anything
 * else (Danforth's snapshots, other sites) is returned as it is. What
 * cannot be had is left out and counted; the record is never dropped.
 */
export class MetadataConverter {
  private readonly fixed = new Map<string, { until: number; content: Promise<Obj | undefined> }>();

  constructor(
    private readonly clowder: ClowderClient,
    private readonly telemetry: IngestTelemetry,
    private readonly opts: { clowderUrl: string; fixedTtlMs: number; bety?: BetyClient; now?: () => number },
  ) {}

  async convert(content: unknown, sensor: string, fixedIds: Readonly<Record<string, string>>): Promise<unknown> {
    if (!isGantryMetadata(content)) return content;
    // clean_json_keys first (terrautils 1.2; Clowder rejects dotted keys), then the LemnaTec conversion.
    const keyed = cleanMetadata(content) as Obj;
    const sensorFixedDatasetId = fixedIds[sensor];
    const gantryFixedDatasetId = fixedIds[SCANALYZER];
    const sensorFixed = sensorFixedDatasetId ? await this.fixedContent(sensorFixedDatasetId, sensor) : undefined;
    const cleaned = cleanLemnaTec(keyed, {
      sensor, clowderUrl: this.opts.clowderUrl,
      ...(gantryFixedDatasetId ? { gantryFixedDatasetId } : {}),
      ...(sensorFixedDatasetId ? { sensorFixedDatasetId } : {}),
      ...(sensorFixed ? { sensorFixed } : {}),
    });
    if (cleaned.kind === 'not-cleanable') {
      this.telemetry.metadataConverted('generic', sensor, cleaned.reason);
      return keyed;
    }
    for (const note of cleaned.notes) this.telemetry.metadataPartMissing(PART_OF[note], note, sensor);
    const out: Obj = { ...cleaned.content, ...(await this.betyParts(sensor, cleaned.date, cleaned.centroids)) };
    this.telemetry.metadataConverted('lemnatec', sensor);
    return out;
  }

  /** experiment_metadata and site_metadata from BETYdb; left out (and counted) when BETYdb is not configured or fails. */
  private async betyParts(sensor: string, date: string, centroids: readonly [number, number][]): Promise<Obj> {
    const bety = this.opts.bety;
    if (!bety) {
      this.telemetry.metadataPartMissing('experiment_metadata', 'betydb_unset', sensor);
      this.telemetry.metadataPartMissing('site_metadata', 'betydb_unset', sensor);
      return {};
    }
    const out: Obj = {};
    try {
      out['experiment_metadata'] = experimentMetadata(await bety.experiments(), date);
    } catch (err) {
      if (!(err instanceof BetyError)) throw err;
      this.telemetry.metadataPartMissing('experiment_metadata', 'betydb_failed', sensor, err.message);
    }
    // Sites are looked up at the image centroids: without spatial metadata there is nowhere to look.
    if (centroids.length === 0) return out;
    try {
      const perCentroid = [];
      for (const c of centroids) perCentroid.push(sitesOnDate(await bety.experiments(c), await bety.sitesContaining(c), date));
      out['site_metadata'] = siteMetadata(perCentroid);
    } catch (err) {
      if (!(err instanceof BetyError)) throw err;
      this.telemetry.metadataPartMissing('site_metadata', 'betydb_failed', sensor, err.message);
    }
    return out;
  }

  /**
   * The fixed metadata dataset's first record's content (terrautils took
   * `[0].content`), cached per dataset for fixedTtlMs. A dataset Clowder does
   * not know, or one without a record, is absent (counted through the
   * cleaner's `sensor_fixed_metadata_absent` note); Clowder being down is the caller's error (the delivery is retried).
   */
  private async fixedContent(datasetId: string, sensor: string): Promise<Obj | undefined> {
    const now = (this.opts.now ?? Date.now)();
    const hit = this.fixed.get(datasetId);
    if (hit && hit.until > now) return hit.content;
    const content = this.readFixed(datasetId, sensor);
    this.fixed.set(datasetId, { until: now + this.opts.fixedTtlMs, content });
    // A failed read is not kept: the next file asks again.
    content.catch(() => this.fixed.delete(datasetId));
    return content;
  }

  private async readFixed(datasetId: string, sensor: string): Promise<Obj | undefined> {
    try {
      const first = (await this.clowder.datasetMetadata(datasetId)).find((r) => typeof r.content === 'object' && r.content !== null && !Array.isArray(r.content));
      return first?.content as Obj | undefined;
    } catch (err) {
      if (!(err instanceof ClowderRejectedError) && !(err instanceof ClowderProtocolError)) throw err;
      this.telemetry.fixedMetadataUnreadable(sensor, datasetId, err.message);
      return undefined;
    }
  }
}
