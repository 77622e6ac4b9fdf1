import { stringify } from 'yaml';

/** A site file's text from plain objects (the local stack, tests): the loader checks it like any other. */
export function stringifySites(sites: readonly unknown[]): string {
  return stringify({ version: 1, sites });
}
