/**
 * deploy/rabbitmq/definitions.json (loaded by the compose stack's RabbitMQ) is generated from
 * packages/contracts (`make definitions`), for the vhost `terra`, the prefix `terra` and the sites
 * of deploy/compose/sites.example.yaml:
 * - the committed file is what the contracts render today (edit the contracts, then re-render);
 * - a private RabbitMQ node (own node name, ports, data directory; the machine's broker is not
 *   touched), given the stack's vhost and user as its rabbitmq.conf does (default_vhost), imports it (import_definitions, as the
 *   stack's rabbitmq-definitions service does through the management API), and the services' own declaration
 *   (the platform's AMQP client) then succeeds against it (a queue argument that differed would make
 *   it fail with PRECONDITION_FAILED) and adds nothing: the same queues and bindings before and after.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderDefinitions } from '@terra-transfer/contracts';
import { AmqpClient, createRegistry } from '@terra-transfer/platform';
import { loadSites } from '@terra-transfer/sites';
import { startPrivateRabbit, tempDir, testLogger } from '@terra-transfer/testkit';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const COMMITTED = join(REPO, 'deploy/rabbitmq/definitions.json');
const sites = loadSites(join(REPO, 'deploy/compose/sites.example.yaml')).names();

it('the committed definitions are the ones the contracts render', async () => {
  expect(sites.length).toBeGreaterThan(0);
  const rendered = renderDefinitions({ vhost: 'terra', prefix: 'terra', sites: [...sites] });
  // On failure: `make definitions` writes the file anew.
  expect(await readFile(COMMITTED, 'utf8')).toBe(rendered);
  // Each broker's half of a two-broker deployment (decision 0028): its side's queues, outbox and inbound exchange.
  for (const side of ['site', 'datacentre'] as const) {
    const half = await readFile(join(REPO, `deploy/rabbitmq/definitions.${side}.json`), 'utf8');
    expect(half).toBe(renderDefinitions({ vhost: 'terra', prefix: 'terra', sites: [...sites], side }));
    expect(JSON.parse(half).queues.map((q: { name: string }) => q.name)).toContain(side === 'site' ? 'terra.shovel.to-dc' : 'terra.shovel.to-site');
  }
});

it('a RabbitMQ node loaded with the definitions holds exactly what the services declare', async () => {
  const dir = await tempDir('rmq-defs');
  await chmod(dir.path, 0o755); // the node runs as the rabbitmq user
  const file = join(dir.path, 'definitions.json');
  await writeFile(file, await readFile(COMMITTED));
  await chmod(file, 0o644);
  const rabbit = await startPrivateRabbit();
  const client = new AmqpClient({ url: `${rabbit.url}/terra`, prefix: 'terra', sites, connectionName: 'definitions-test', logger: testLogger(), registry: createRegistry(), reconnectMaxMs: 500 });
  try {
    const state = async () => ({
      queues: (await rabbit.ctl('list_queues', '-p', 'terra', 'name', 'type', 'arguments', '--no-table-headers')).split('\n').filter(Boolean).sort(),
      bindings: (await rabbit.ctl('list_bindings', '-p', 'terra', 'source_name', 'destination_name', 'routing_key', '--no-table-headers')).split('\n').filter(Boolean).sort(),
    });
    // What the stack's rabbitmq.conf (default_vhost = terra) gives its user at first boot.
    await rabbit.ctl('add_vhost', 'terra');
    await rabbit.ctl('set_permissions', '-p', 'terra', 'guest', '.*', '.*', '.*');
    await rabbit.ctl('import_definitions', file);
    const before = await state();
    const defs = JSON.parse(await readFile(COMMITTED, 'utf8')) as { queues: unknown[] };
    expect(before.queues).toHaveLength(defs.queues.length);
    // The services' declaration: fails (PRECONDITION_FAILED, retried for ever) if any queue differs.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      client.start(),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('the services\' declaration did not succeed against the imported definitions')), 30_000); }),
    ]).finally(() => clearTimeout(timer));
    expect(await state()).toEqual(before);
    expect(before.queues.every((q) => q.includes('quorum'))).toBe(true);
  } finally {
    await client.close().catch(() => undefined);
    await rabbit.stop();
    await dir.remove();
  }
}, 180_000);
