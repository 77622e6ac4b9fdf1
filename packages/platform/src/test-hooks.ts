import { ConfigError } from './config.js';

/**
 * A test hook: an environment switch that only the tests set, to make a service do what production must survive
 * (a crash at a chosen point). Test hooks are not settings: they are in no config declaration, no README table of
 * settings and nothing under deploy/, and they are read here only, so `grep -rn testHook` lists every one.
 * Unset, the hook is off (undefined). A value outside `values` is a configuration error at start (exit 78).
 */
export function testHook<const T extends string>(name: string, values: readonly T[], source: Record<string, string | undefined> = process.env): T | undefined {
  const raw = source[name];
  if (raw === undefined || raw === '') return undefined;
  if (!values.includes(raw as T)) throw new ConfigError([{ key: name, problem: `(test hook) must be one of ${values.join(', ')}, got "${raw}"` }]);
  return raw as T;
}

