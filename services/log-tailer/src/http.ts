import { buildHttp, type HttpApp, type HttpOptions } from '@terra-transfer/platform';

/**
 * The service's HTTP side (probes, metrics, OpenAPI at /docs); never listens (main.ts does).
 * Exported apart from main.ts so the OpenAPI test builds the very document the service serves.
 */
export function buildLogTailerHttp(deps: Pick<HttpOptions, 'logger' | 'registry' | 'checks'>): Promise<HttpApp> {
  return buildHttp({
    service: 'log-tailer',
    description: 'Publishes every completed FTP upload found in the xferlog as file.uploaded.',
    ...deps,
  });
}
