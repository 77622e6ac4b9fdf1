/**
 * Globus filter_rules for recursive items: `{method: include|exclude, name: <glob>, type?: file|dir}`,
 * matched against each entry's name, first match wins, no match = include. Pure.
 */
export interface FilterRule {
  method: 'include' | 'exclude';
  name: string;
  type?: 'file' | 'dir';
}

export function checkFilterRules(rules: unknown[]): string | undefined {
  for (const [i, r] of rules.entries()) {
    const x = r as Record<string, unknown> | null;
    if (!x || x['DATA_TYPE'] !== 'filter_rule') return `filter_rules[${i}]: DATA_TYPE must be 'filter_rule'`;
    if (x['method'] !== 'include' && x['method'] !== 'exclude') return `filter_rules[${i}]: method must be 'include' or 'exclude'`;
    if (typeof x['name'] !== 'string' || x['name'] === '') return `filter_rules[${i}]: name is required`;
    if (x['type'] !== undefined && x['type'] !== null && x['type'] !== 'file' && x['type'] !== 'dir') return `filter_rules[${i}]: type must be 'file' or 'dir'`;
  }
  return undefined;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 1);
      if (close < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** A predicate: should an entry with this name and kind be transferred (or, for a directory, descended into)? */
export function compileFilterRules(rules: FilterRule[] | null): (name: string, kind: 'file' | 'dir') => boolean {
  if (!rules?.length) return () => true;
  const compiled = rules.map((r) => ({ ...r, re: globToRegExp(r.name) }));
  return (name, kind) => {
    for (const r of compiled) {
      if (r.type && r.type !== kind) continue;
      if (r.re.test(name)) return r.method === 'include';
    }
    return true;
  };
}
