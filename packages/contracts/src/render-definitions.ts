/**
 * Prints deploy/rabbitmq/definitions.json (`make definitions`):
 *   node packages/contracts/dist/render-definitions.js --vhost terra --prefix terra --sites ua-mac[,other]
 * and, with `--side site|datacentre`, one broker's half of a two-broker deployment
 * (definitions.site.json, definitions.datacentre.json; decision 0028).
 * The sites are the site file's (each has its per-site queues); a test fails when the committed file differs.
 */
import { parseArgs } from 'node:util';
import { renderDefinitions } from './declarations.js';
import { BROKER_SIDES, type BrokerSide } from './topology.js';

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { vhost: { type: 'string', default: 'terra' }, prefix: { type: 'string', default: 'terra' }, sites: { type: 'string', default: '' }, side: { type: 'string' } } });
  if (values.side !== undefined && !(BROKER_SIDES as readonly string[]).includes(values.side)) throw new Error(`--side must be one of ${BROKER_SIDES.join(', ')}`);
  process.stdout.write(renderDefinitions({ vhost: values.vhost, prefix: values.prefix, sites: values.sites.split(',').filter(Boolean), ...(values.side ? { side: values.side as BrokerSide } : {}) }));
}
