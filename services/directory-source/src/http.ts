import { buildHttp, type HttpApp, type HttpOptions } from '@terra-transfer/platform';

/**
 * The service's HTTP side (probes, metrics, OpenAPI at /docs); never listens (main.ts does).
 * Exported apart from main.ts so the OpenAPI test builds the very document the service serves.
 */
export function buildDirectorySourceHttp(deps: Pick<HttpOptions, 'logger' | 'registry' | 'checks'>): Promise<HttpApp> {
  return buildHttp({
    service: 'directory-source',
    description: 'Publishes every complete file of a directory site (settled, or completed by a marker) as file.uploaded.',
    ...deps,
  });
}
