import { counter, histogram, type Logger, type Registry } from '@terra-transfer/platform';

/** One function per named occurrence: it logs (structured) and updates its metric. No path or message is ever a label. */
export function ingestTelemetry(logger: Logger, registry: Registry) {
  const ingested = counter(registry, 'terra_transfer_clowder_files_ingested_total', 'Deliveries completed: file registered (or found registered) and file.ingested published');
  const registered = counter(registry, 'terra_transfer_clowder_files_registered_total', 'Files registered in Clowder by path (new Clowder file records)');
  const already = counter(registry, 'terra_transfer_clowder_files_already_registered_total', 'Files found already recorded (redelivered events): no request sent');
  const replaced = counter(registry, 'terra_transfer_clowder_files_replaced_total', 'Paths whose Clowder file was replaced by a newer version (the file was rewritten after it was sent)');
  const reconciled = counter(registry, 'terra_transfer_clowder_files_reconciled_total', 'Files found in listFiles after a crash or lost reply, recorded instead of registered again');
  const batch = histogram(registry, 'terra_transfer_clowder_upload_batch_files', 'Files per uploadToDataset request', [], [1, 2, 5, 10, 20, 50, 100, 200, 500]);
  const created = counter(registry, 'terra_transfer_clowder_created_total', 'Spaces, collections and datasets created', ['kind']);
  const found = counter(registry, 'terra_transfer_clowder_found_existing_total', 'Names found in Clowder by exact lookup instead of created (another worker, or a lost reply)', ['kind']);
  const duplicates = counter(registry, 'terra_transfer_clowder_duplicates_total', 'Names seen more than once in Clowder after a creation (converged on the lowest id)', ['kind']);
  const metadata = counter(registry, 'terra_transfer_clowder_metadata_attached_total', 'Dataset metadata records posted');
  const invalid = counter(registry, 'terra_transfer_clowder_metadata_invalid_total', 'metadata.json files that did not parse as JSON (file registered, metadata not attached; a newer version attaches it)');
  const experimentUnknown = counter(registry, 'terra_transfer_clowder_experiment_unknown_total', 'Datasets of an experiment site whose metadata.json names no experiment (or is not JSON): put in the sensor/date collections instead');
  const skipped = counter(registry, 'terra_transfer_clowder_files_skipped_total', 'Files not registered by rule', ['reason']);
  const retries = counter(registry, 'terra_transfer_clowder_request_retries_total', 'Automatic retries of idempotent Clowder requests', ['route']);
  // Every series whose label values are a closed set exists from the start, so rate() and increase() answer 0, not nothing.
  for (const kind of ['space', 'collection', 'dataset']) {
    created.inc({ kind }, 0);
    found.inc({ kind }, 0);
    duplicates.inc({ kind }, 0);
  }
  for (const reason of ['hidden', 'skipped-dataset', 'skipped-path']) skipped.inc({ reason }, 0);
  const forbidden = counter(registry, 'terra_transfer_clowder_forbidden_total', 'Clowder 403s: the key may not write where the ingest writes (consuming held until the write is allowed)', ['site']);
  const converted = counter(registry, 'terra_transfer_clowder_metadata_converted_total', 'Gantry metadata.json converted before attaching: lemnatec (terrautils lemnatec.clean) or generic (it could not be built: keys cleaned only)', ['result']);
  const partMissing = counter(registry, 'terra_transfer_clowder_metadata_parts_missing_total', 'Parts of a converted gantry record left out, by part and reason (unconfigured input, absent fixed metadata, BETYdb not set or failing)', ['part', 'reason']);
  for (const result of ['lemnatec', 'generic']) converted.inc({ result }, 0);
  /** Warned once per sensor, part and reason: the counter says how often. */
  const warned = new Set<string>();
  const spaceUnknown = counter(registry, 'terra_transfer_clowder_space_unknown_total', 'Configured space ids Clowder does not know (start refused)');
  return {
    /** The sites' labelled series from the start (rate() and the refusing-writes alert answer 0, not nothing). */
    sitesKnown(sites: readonly string[]): void {
      for (const site of sites) forbidden.inc({ site }, 0);
    },
    forbidden(site: string, datasetName: string, detail: string): void {
      forbidden.inc({ site });
      logger.error(
        { site, datasetName, detail },
        'Clowder refused a write (403): the key does not own the collection or dataset and has no editor role in its space. Consuming is held (not ready) until it is allowed; use the commKey or an admin key with CLOWDER_SUPERADMIN=true, or give the user an Editor role in the space',
      );
    },
    spaceUnknown(site: string, spaceId: string, detail: string): void {
      spaceUnknown.inc();
      logger.fatal({ site, spaceId, detail }, 'the site\'s Clowder space id is not known to Clowder (the site file\'s clowder.space.id): not starting');
    },
    ingested(site: string, datasetName: string, fileId: string | null): void {
      ingested.inc();
      logger.debug({ site, datasetName, fileId }, 'file ingested');
    },
    registered(accepted: number, sent: number): void {
      registered.inc(accepted);
      batch.observe(sent);
      logger.debug({ accepted, sent }, 'files registered by path');
    },
    alreadyRegistered(n: number): void {
      already.inc(n);
    },
    replaced(n: number): void {
      if (n === 0) return;
      replaced.inc(n);
      logger.info({ files: n }, 'new versions registered in Clowder; the old files deleted');
    },
    reconciled(n: number): void {
      reconciled.inc(n);
      logger.info({ files: n }, 'files found registered in Clowder after an interrupted request; recorded');
    },
    created(kind: string): void {
      created.inc({ kind });
    },
    foundExisting(kind: string, count: number): void {
      found.inc({ kind });
      logger.info({ kind, count }, 'found existing Clowder record by exact name; reused');
    },
    duplicate(kind: string, name: string, count: number): void {
      duplicates.inc({ kind });
      logger.warn({ kind, name, count }, 'duplicate names in Clowder; converged on the lowest id');
    },
    metadataAttached(): void {
      metadata.inc();
    },
    metadataInvalid(datasetId: string, path: string, reason: string): void {
      invalid.inc();
      logger.warn({ datasetId, path, reason }, 'metadata.json is not JSON: registered without dataset metadata (a newer version will attach it)');
    },
    experimentUnknown(datasetName: string, path: string, reason: string): void {
      experimentUnknown.inc();
      logger.warn({ datasetName, path, reason }, 'the dataset\'s metadata.json names no experiment: the dataset goes in the sensor/date collections');
    },
    metadataConverted(result: 'lemnatec' | 'generic', sensor: string, reason?: string): void {
      converted.inc({ result });
      if (result === 'generic' && !warned.has(`generic:${sensor}:${reason}`)) {
        warned.add(`generic:${sensor}:${reason}`);
        logger.warn({ sensor, reason }, 'gantry metadata could not be converted as terrautils did; attached with its keys cleaned only (counted from now on, not logged again for this sensor)');
      }
    },
    /** A part of a converted record is left out; `reason` is a closed set (never a message). */
    metadataPartMissing(part: string, reason: string, sensor: string, detail?: string): void {
      partMissing.inc({ part, reason });
      const key = `${part}:${reason}:${sensor}`;
      if (warned.has(key)) return;
      warned.add(key);
      logger.warn({ sensor, part, reason, detail }, 'converted gantry metadata attached without this part (counted from now on, not logged again for this sensor)');
    },
    fixedMetadataUnreadable(sensor: string, datasetId: string, detail: string): void {
      if (warned.has(`fixed:${datasetId}`)) return;
      warned.add(`fixed:${datasetId}`);
      logger.warn({ sensor, datasetId, detail }, 'the sensor\'s fixed-metadata dataset (site file clowder.fixedMetadata) could not be read from Clowder: records are attached without spatial metadata');
    },
    skipped(reason: string, path: string): void {
      skipped.inc({ reason });
      logger.info({ reason, path }, 'file skipped by rule');
    },
    retry(route: string, attempt: number, status?: number, code?: string): void {
      retries.inc({ route });
      logger.debug({ route, attempt, status, code }, 'retrying Clowder request');
    },
    ready(sites: string[]): void {
      logger.info({ sites }, 'clowder-ingest consuming');
    },
  };
}
export type IngestTelemetry = ReturnType<typeof ingestTelemetry>;
