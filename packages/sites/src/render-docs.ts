import type { TSchema } from '@sinclair/typebox';
import { Clowder, DELETION_POLICIES, Destination, BatchLimits, Globus, SOURCE_KINDS, SiteBase, Sweep } from './schema.js';
import { EXAMPLES } from './examples.js';

/** Renders docs/sites.md from the schema, so the reference cannot drift from the code (a test compares them). */
export function renderSitesDoc(): string {
  const out: string[] = [];
  out.push('# The site file', '');
  out.push('<!-- Generated from packages/sites by `node packages/sites/dist/render-docs.js > docs/sites.md`; do not edit by hand. A test fails when this file and the schema differ. -->', '');
  out.push(
    'One YAML file names every site the stack serves; every service reads it (path in `SITES_FILE`) and checks it once at start.',
    'A file with any problem stops the service with exit code 78 and one message naming every problem by its YAML path and line, e.g. `sites[1].destinations[0].endpoint: required (line 14)`; nothing is half-started.',
    'Besides each field\'s own rule: site names are unique, destination names are unique within a site, `clowder.destination` names one of the site\'s destinations, and no two sites share or nest the folder they own (`source.cacheRoot`, `source.root` or `source.stagingRoot`).',
    'Per-service operational settings (ports, prefetch, timeouts) stay in each service\'s environment; a service serves the sites named in its `SITES` (default: every site it can serve; the log-tailer serves the one xferlog site named by `SITE`).',
    '',
  );
  table(out, 'Top level', { version: { type: 'integer', const: 1, description: 'Format version of this file' } as unknown as TSchema, sites: { type: 'array', items: { type: 'object' }, description: 'The sites (at least one); fields below' } as unknown as TSchema }, ['version', 'sites']);
  table(out, 'A site (`sites[i]`)', SiteBase.properties, SiteBase.required ?? []);
  for (const [kind, schema] of Object.entries(SOURCE_KINDS)) table(out, `\`source\` of kind \`${kind}\``, schema.properties, schema.required ?? []);
  table(out, '`globus`', Globus.properties, Globus.required ?? []);
  table(out, '`destinations[j]`', Destination.properties, Destination.required ?? []);
  table(out, '`destinations[j].batch` (bundling limits)', BatchLimits.properties, []);
  table(out, '`clowder`', Clowder.properties, Clowder.required ?? []);
  for (const [policy, schema] of Object.entries(DELETION_POLICIES)) table(out, `\`deletion\` with policy \`${policy}\``, schema.properties, schema.required ?? []);
  table(out, '`deletion.sweep`', Sweep.properties, []);
  out.push('## Examples, one per source kind', '');
  for (const [kind, text] of Object.entries(EXAMPLES)) out.push(`### ${kind}`, '', '```yaml', text.trimEnd(), '```', '');
  return out.join('\n');
}

function table(out: string[], title: string, props: Record<string, TSchema>, required: readonly string[]): void {
  out.push(`## ${title}`, '', '| field | type | default | meaning |', '|---|---|---|---|');
  for (const [name, p] of Object.entries(props)) {
    const s = p as Record<string, unknown>;
    const dflt = s['default'] !== undefined ? `\`${JSON.stringify(s['default'])}\`` : required.includes(name) ? 'required' : '(absent)';
    out.push(`| \`${name}\` | ${typeOf(s)} | ${dflt} | ${String(s['description'] ?? '').replace(/\|/g, '\\|')} |`);
  }
  out.push('');
}

function typeOf(p: Record<string, unknown>): string {
  if (Array.isArray(p['anyOf'])) {
    const items = p['anyOf'] as Record<string, unknown>[];
    if (items.every((i) => i['const'] !== undefined)) return items.map((i) => `\`${JSON.stringify(i['const'])}\``).join(' \\| ');
    if (items.every((i) => i['type'] === 'object' && (i['properties'] as Record<string, Record<string, unknown>>)?.['kind'])) return `one of ${items.map((i) => `\`kind: ${String(((i['properties'] as Record<string, Record<string, unknown>>)['kind']!)['const'])}\``).join(', ')}`;
    if (items.every((i) => i['type'] === 'object' && (i['properties'] as Record<string, Record<string, unknown>>)?.['policy'])) return `one of ${items.map((i) => `\`policy: ${String(((i['properties'] as Record<string, Record<string, unknown>>)['policy']!)['const'])}\``).join(', ')}`;
    return items.map((i) => `{${Object.keys((i['properties'] as object) ?? {}).join(', ')}}`).join(' or ');
  }
  if (p['const'] !== undefined) return `\`${JSON.stringify(p['const'])}\``;
  if (p['type'] === 'array') return `list of ${typeOf(p['items'] as Record<string, unknown>)}`;
  if (p['type'] === 'object' && p['patternProperties']) return 'map of name → string';
  if (p['type'] === 'object') return 'object';
  const extra: string[] = [];
  if (p['pattern'] === '^/') extra.push('absolute path');
  else if (typeof p['pattern'] === 'string' && p['pattern'].startsWith('^(?!/)')) extra.push('relative folder');
  else if (p['pattern']) extra.push(`pattern \`${String(p['pattern']).replace(/\|/g, '\\|')}\``);
  if (p['minimum'] !== undefined) extra.push(`≥ ${String(p['minimum'])}`);
  return `${String(p['type'])}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(renderSitesDoc());
