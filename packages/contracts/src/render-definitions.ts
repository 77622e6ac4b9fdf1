/**
 * Prints deploy/rabbitmq/definitions.json (`make definitions`):
 *   node packages/contracts/dist/render-definitions.js --vhost terra --prefix terra --sites ua-mac[,other]
 * The sites are the site file's (each has its per-site queues); a test fails when the committed file differs.
 */
import { parseArgs } from 'node:util';
import { renderDefinitions } from './declarations.js';

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { vhost: { type: 'string', default: 'terra' }, prefix: { type: 'string', default: 'terra' }, sites: { type: 'string', default: '' } } });
  process.stdout.write(renderDefinitions({ vhost: values.vhost, prefix: values.prefix, sites: values.sites.split(',').filter(Boolean) }));
}
