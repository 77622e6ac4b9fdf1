import { ConfigError, loadConfig } from '@terra-transfer/platform';
import { checkSpec, configSpec } from './config.js';

describe('clowder-ingest config', () => {
  const base = { HTTP_PORT: '0', CLOWDER_URL: 'http://clowder:9000/clowder', CLOWDER_KEY: 'k', SITES_FILE: '/etc/terra/sites.yaml' };

  it('has defaults for everything but the Clowder URL and key and the site file', () => {
    const c = loadConfig(configSpec, base);
    expect(c.SITES).toEqual([]);
    expect(c.CLOWDER_EXTRACT).toBe(true);
    expect(() => loadConfig(configSpec, {})).toThrow(ConfigError);
  });

  it('names every bad key, and never echoes the key', () => {
    try {
      loadConfig(configSpec, { ...base, CLOWDER_KEY: 'sekret', SITES_FILE: 'relative.yaml', CLOWDER_AGENT_USER_ID: 'nope' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toContain('SITES_FILE must be an absolute path');
      expect(msg).toContain('CLOWDER_AGENT_USER_ID');
      expect(msg).not.toContain('sekret');
    }
  });

  it('checks at start that the first probe wait does not exceed the longest', () => {
    expect(() => loadConfig(configSpec, { ...base, INGEST_UPSTREAM_PROBE_MIN_MS: '5000', INGEST_UPSTREAM_PROBE_MAX_MS: '1000' }, checkSpec)).toThrow(/INGEST_UPSTREAM_PROBE_MIN_MS must be <= INGEST_UPSTREAM_PROBE_MAX_MS/);
    expect(loadConfig(configSpec, base, checkSpec).INGEST_UPSTREAM_PROBE_MIN_MS).toBe(1000);
  });

  it('BETYdb is optional, and needs its URL and key together', () => {
    const c = loadConfig(configSpec, base, checkSpec);
    expect(c.BETYDB_URL).toBeUndefined();
    expect(c.BETYDB_KEY).toBeUndefined();
    expect(() => loadConfig(configSpec, { ...base, BETYDB_URL: 'https://terraref.ncsa.illinois.edu/bety' }, checkSpec)).toThrow(/BETYDB_KEY required when BETYDB_URL is set/);
    expect(() => loadConfig(configSpec, { ...base, BETYDB_KEY: 'k' }, checkSpec)).toThrow(/BETYDB_URL required when BETYDB_KEY is set/);
    expect(loadConfig(configSpec, { ...base, BETYDB_URL: 'https://terraref.ncsa.illinois.edu/bety', BETYDB_KEY: 'k' }, checkSpec).BETYDB_URL).toBe('https://terraref.ncsa.illinois.edu/bety');
  });
});
