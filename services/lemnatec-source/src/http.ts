import { buildHttp, type HttpApp, type HttpOptions } from '@terra-transfer/platform';

/**
 * The service's HTTP side (probes, metrics, OpenAPI at /docs); never listens (main.ts does).
 * Exported apart from main.ts so the OpenAPI test builds the very document the service serves.
 */
export function buildLemnatecSourceHttp(deps: Pick<HttpOptions, 'logger' | 'registry' | 'checks'>): Promise<HttpApp> {
  return buildHttp({
    service: 'lemnatec-source',
    description: "Publishes each completed snapshot of a LemnaTec Scanalyzer's databases (metadata.json first, then PNG images) as file.uploaded.",
    ...deps,
  });
}
