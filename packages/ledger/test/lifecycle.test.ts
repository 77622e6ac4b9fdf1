import { readFileSync } from 'node:fs';
import { FILE_STATES, FILE_TRANSITIONS, lifecycleTable } from '@terra-transfer/ledger';

/** states.ts is the one description of a file's lifecycle; the architecture document carries its table. */
describe('the file lifecycle', () => {
  it('docs/architecture.md carries lifecycleTable() verbatim', () => {
    const doc = readFileSync(new URL('../../../docs/architecture.md', import.meta.url), 'utf8');
    const m = /<!-- file-lifecycle:begin[^>]*-->\n([\s\S]*?)\n<!-- file-lifecycle:end -->/.exec(doc);
    expect(m).not.toBeNull();
    // On a difference: paste lifecycleTable()'s output between the markers.
    expect(m![1]).toBe(lifecycleTable());
  });

  it('every state is reached by some transition and every transition names known states', () => {
    const reached = new Set(FILE_TRANSITIONS.map((t) => t.to));
    expect([...FILE_STATES].filter((s) => !reached.has(s))).toEqual([]);
    for (const t of FILE_TRANSITIONS) for (const f of t.from) expect([...FILE_STATES, '(none)', 'other version']).toContain(f);
  });
});
