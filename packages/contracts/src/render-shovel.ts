/**
 * Prints the dynamic shovel of one side of a two-broker deployment (decision 0028), as
 * `rabbitmqctl set_parameter` takes it, on that side's broker:
 *   SHOVEL_REMOTE_URI='amqps://user:pass@dc-broker:5671/terra' \
 *     rabbitmqctl -p terra set_parameter shovel terra-site-to-dc \
 *     "$(node packages/contracts/dist/render-shovel.js --side site --vhost terra --prefix terra --sites ua-mac)"
 * The other broker's URI carries credentials, so it comes from the environment, never the command line.
 * The shovel's name is printed on stderr.
 */
import { parseArgs } from 'node:util';
import { shovelParameter } from './declarations.js';
import { BROKER_SIDES, topology, type BrokerSide } from './topology.js';

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { side: { type: 'string' }, vhost: { type: 'string', default: 'terra' }, prefix: { type: 'string', default: 'terra' }, sites: { type: 'string', default: '' } } });
  const side = values.side as BrokerSide;
  const remoteUri = process.env['SHOVEL_REMOTE_URI'];
  if (!(BROKER_SIDES as readonly string[]).includes(side ?? '') || !remoteUri) {
    process.stderr.write(`usage: SHOVEL_REMOTE_URI=amqp://… render-shovel --side ${BROKER_SIDES.join('|')} [--vhost terra] [--prefix terra] --sites a,b\n`);
    process.exit(64);
  }
  const p = shovelParameter(topology(values.prefix, values.sites.split(',').filter(Boolean), side), { remoteUri, vhost: values.vhost });
  process.stderr.write(`shovel ${p.name}\n`);
  process.stdout.write(`${JSON.stringify(p.value)}\n`);
}
