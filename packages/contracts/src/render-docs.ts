import { ACCEPTED_OLDER, MESSAGES, MESSAGE_TYPES } from './registry.js';
import { QUEUES, SITE_ROUTED_TYPES, topology } from './topology.js';

const EXAMPLES: Record<string, unknown> = {
  'file.uploaded': {
    type: 'file.uploaded', version: 1, id: 'xferlog:3f2a9c0d1e2b4a5f:10492', time: '2026-11-24T12:00:08.120Z',
    data: {
      site: 'ua-mac', sensor: 'stereoTop', path: '/gantry_data/MovingSensor/stereoTop/2026-11-24/2026-11-24__12-00-00-000/left.bin',
      size: 1048576, mtimeMs: 1795953607000, ftpTime: '2026-11-24T12:00:07.000Z', source: 'xferlog', attempt: 1,
      uploadId: 'xferlog:3f2a9c0d1e2b4a5f:10492',
    },
  },
};

/** Renders docs/messages.md from the schemas, so the document cannot drift from the code. */
export function renderMessagesDoc(): string {
  const t = topology();
  const out: string[] = [];
  out.push('# Message contracts', '');
  out.push('<!-- Generated from packages/contracts by `make docs`; do not edit by hand. A test fails when this file and the schemas differ. -->', '');
  out.push(
    'Every event is a JSON object in one envelope: `type`, `version`, `id` (unique per event; a redelivery or a retry of the same publish keeps it), `time` (ISO 8601) and `data`.',
    'Events are published persistent, with publisher confirms and `mandatory`, to the topic exchange `' + t.eventsExchange + '` (prefix `terra` by default).',
    'Consumers validate every message: a body that is not JSON, is not an event, has an unknown type or version, or does not match its schema is dead-lettered with the reason in the headers `x-terra-error-code` and `x-terra-error-detail`, and counted in `terra_transfer_messages_rejected_total{queue,code}`.',
    '',
  );
  out.push(
    'The routing key is the type, except for the types routed per site (' + SITE_ROUTED_TYPES.map((x) => `\`${x}\``).join(', ') + '), published with `<type>.<site>` (the site from `data.site`; the platform\'s publish decides it, never the publisher).',
    'A per-site queue exists once for every site of the site file (`<queue>.<site>`, bound to `<type>.<site>`); a queue that serves every site binds `<type>.<site>` for every site of the site file (never `<type>.*`: an event of a site no one serves stays unroutable).',
    '',
  );
  out.push('| type | version | routing key | consumed by (queue) |', '|---|---|---|---|');
  const p = t.eventsExchange.replace(/\.events$/, '');
  for (const type of MESSAGE_TYPES) {
    const perSite = (SITE_ROUTED_TYPES as readonly string[]).includes(type);
    const consumers = (Object.values(QUEUES) as Array<{ name: string; bindings: readonly string[]; perSite?: true }>)
      .filter((q) => q.bindings.includes(type))
      .map((q) => (q.perSite ? `\`${p}.${q.name}.<site>\`` : `\`${p}.${q.name}\``));
    out.push(`| \`${type}\` | ${MESSAGES[type].properties.version.const} | \`${perSite ? `${type}.<site>` : type}\` | ${consumers.join(', ') || '(none yet)'} |`);
  }
  out.push('');
  for (const type of MESSAGE_TYPES) {
    const schema = MESSAGES[type];
    out.push(`## ${type} (v${schema.properties.version.const})`, '', schema.description ?? '', '');
    fieldRows(out, schema.properties.data as unknown as ObjectSchema);
    if (EXAMPLES[type]) out.push('Example:', '', '```json', JSON.stringify(EXAMPLES[type], null, 2), '```', '');
    out.push('<details><summary>JSON Schema</summary>', '', '```json', JSON.stringify(schema, null, 2), '```', '', '</details>', '');
    for (const older of (ACCEPTED_OLDER as unknown as Record<string, ReadonlyArray<typeof schema> | undefined>)[type] ?? []) {
      out.push(`### ${type} (v${older.properties.version.const}): still accepted, no longer produced`, '', `${older.description ?? ''} Consumers take it as a chunk of its one file (decision 0053).`, '');
      fieldRows(out, older.properties.data as unknown as ObjectSchema);
      out.push('<details><summary>JSON Schema</summary>', '', '```json', JSON.stringify(older, null, 2), '```', '', '</details>', '');
    }
  }
  return out.join('\n');
}

interface ObjectSchema { properties: Record<string, Record<string, unknown>>; required?: string[] }

/** One row per field of `data`, and one per field of the items of an array of objects (`data.files[].path`). */
function fieldRows(out: string[], data: ObjectSchema): void {
  out.push('| field | type | notes |', '|---|---|---|');
  const rows = (o: ObjectSchema, prefix: string) => {
    for (const [name, prop] of Object.entries(o.properties)) {
      const required = o.required?.includes(name) ? '' : ' (optional)';
      out.push(`| \`${prefix}${name}\` | ${describeType(prop)}${required} | ${String(prop['description'] ?? '').replace(/\|/g, '\\|')} |`);
      const items = prop['items'] as Record<string, unknown> | undefined;
      if (prop['type'] === 'array' && items?.['type'] === 'object') rows(items as unknown as ObjectSchema, `${prefix}${name}[].`);
    }
  };
  rows(data, 'data.');
  out.push('');
}

function describeType(p: Record<string, unknown>): string {
  if (Array.isArray(p['anyOf'])) return (p['anyOf'] as Record<string, unknown>[]).map(describeType).join(' \\| ');
  if (p['const'] !== undefined) return `\`${JSON.stringify(p['const'])}\``;
  if (p['type'] === 'array') return `array of ${describeType(p['items'] as Record<string, unknown>)}`;
  if (p['type'] === 'object') return 'object';
  const extra: string[] = [];
  if (p['format']) extra.push(String(p['format']));
  if (p['pattern']) extra.push(`pattern \`${String(p['pattern'])}\``);
  return `${String(p['type'])}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(renderMessagesDoc());
