/** The only resource scope the simulator issues tokens for. */
export const TRANSFER_SCOPE = 'urn:globus:auth:scope:transfer.api.globus.org:all';

export interface ParsedScope {
  scope: string;
  /** Dependent scopes inside [...] ("*" = optional marker stripped). */
  dependencies: string[];
}

/**
 * Splits a space-separated scope string, keeping bracketed dependency lists
 * (which contain spaces) together: `a[*b *c] d` → a{b,c}, d. Pure; returns
 * undefined when brackets are unbalanced.
 */
export function parseScopes(raw: string): ParsedScope[] | undefined {
  const out: ParsedScope[] = [];
  let i = 0;
  const s = raw.trim();
  while (i < s.length) {
    while (s[i] === ' ') i++;
    if (i >= s.length) break;
    let j = i;
    while (j < s.length && s[j] !== ' ' && s[j] !== '[') j++;
    const scope = s.slice(i, j);
    const deps: string[] = [];
    if (s[j] === '[') {
      const close = s.indexOf(']', j);
      if (close < 0) return undefined;
      deps.push(...s.slice(j + 1, close).split(/\s+/).filter(Boolean).map((d) => d.replace(/^\*/, '')));
      j = close + 1;
    }
    if (!scope) return undefined;
    out.push({ scope, dependencies: deps });
    i = j;
  }
  return out;
}

export const dataAccessScope = (collection: string): string => `https://auth.globus.org/scopes/${collection}/data_access`;
