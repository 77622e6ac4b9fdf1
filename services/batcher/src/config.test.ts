import { ConfigError, loadConfig } from '@terra-transfer/platform';
import { checkSpec, spec } from './config.js';

describe('batcher config', () => {
  const base = { SITES_FILE: '/etc/terra/sites.yaml', GLOBUS_CLIENT_ID: 'c', GLOBUS_CLIENT_SECRET: 's' };

  it('leaves the watcher URL and the tokens absent when unset (no "-" sentinel)', () => {
    const c = loadConfig(spec, base, checkSpec);
    expect([c.WATCHER_URL, c.WATCHER_TOKEN, c.API_TOKEN]).toEqual([undefined, undefined, undefined]);
    expect('CRASH_AT' in c).toBe(false);
  });

  it('refuses "-" as a watcher URL, and a watcher URL without its token, at start', () => {
    expect(() => loadConfig(spec, { ...base, WATCHER_URL: '-' }, checkSpec)).toThrow(/WATCHER_URL must be a URL/);
    expect(() => loadConfig(spec, { ...base, WATCHER_URL: 'https://w.example/' }, checkSpec)).toThrow(ConfigError);
    expect(() => loadConfig(spec, { ...base, WATCHER_URL: 'https://w.example/' }, checkSpec)).toThrow(/WATCHER_TOKEN is required when WATCHER_URL is set/);
    expect(loadConfig(spec, { ...base, WATCHER_URL: 'https://w.example/', WATCHER_TOKEN: 't' }, checkSpec).WATCHER_URL).toBe('https://w.example/');
  });
});
