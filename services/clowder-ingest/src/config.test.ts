import { ConfigError, loadConfig } from '@terra-transfer/platform';
import { configSpec } from './config.js';

describe('clowder-ingest config', () => {
  const base = { HTTP_PORT: '0', CLOWDER_URL: 'http://clowder:9000/clowder', CLOWDER_KEY: 'k' };

  it('has defaults for everything but the Clowder URL and key', () => {
    const c = loadConfig(configSpec, base);
    expect(c.INGEST_SITES['ua-mac']).toMatchObject({ clowderRoot: '/home/clowder/sites/ua-mac', space: 'ua-mac' });
    expect(c.CLOWDER_EXTRACT).toBe(true);
    expect(() => loadConfig(configSpec, {})).toThrow(ConfigError);
  });

  it('names every bad key, and never echoes the key', () => {
    try {
      loadConfig(configSpec, { ...base, CLOWDER_KEY: 'sekret', INGEST_SITES: '{"x":{"destinationRoot":"rel","clowderRoot":"/c","space":"s"}}', CLOWDER_AGENT_USER_ID: 'nope' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toContain('INGEST_SITES site x: destinationRoot must be an absolute path');
      expect(msg).toContain('CLOWDER_AGENT_USER_ID');
      expect(msg).not.toContain('sekret');
    }
  });
});
