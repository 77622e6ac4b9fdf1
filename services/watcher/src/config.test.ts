import { loadConfig } from '@terra-transfer/platform';
import { checkSpec, spec } from './config.js';

describe('watcher config', () => {
  const base = { SITES_FILE: '/etc/terra/sites.yaml', GLOBUS_CLIENT_ID: 'c', GLOBUS_CLIENT_SECRET: 's', API_TOKEN: 't' };

  it('refuses a shortest poll interval above the longest, at start', () => {
    expect(() => loadConfig(spec, { ...base, POLL_MIN_MS: '5000', POLL_MAX_MS: '2000' }, checkSpec)).toThrow(/POLL_MIN_MS must be <= POLL_MAX_MS \(2000\), got 5000/);
    expect(loadConfig(spec, { ...base, POLL_MIN_MS: '2000', POLL_MAX_MS: '2000' }, checkSpec).POLL_MIN_MS).toBe(2000);
  });
});
