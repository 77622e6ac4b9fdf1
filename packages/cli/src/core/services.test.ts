import { parseSites, stringifySites, testSite } from '@terra-transfer/sites';
import { serviceUrls } from './services.js';

it('names every process of the site file with the local ports, overridden by SERVICE_URLS', () => {
  const sites = parseSites(stringifySites([
    testSite({ name: 'ua-mac', cacheRoot: '/a', sourceEndpoint: 'e1', destinationRoot: '/ua-mac' }),
    testSite({ name: 'ksu', cacheRoot: '/b', sourceEndpoint: 'e2', destinationRoot: '/ksu' }),
  ]), 'sites.yaml');
  const urls = serviceUrls(sites, ['transfer-log=http://log.example:9000/', 'cleaner@ksu=http://ksu-cleaner:8084']);
  expect(Object.fromEntries(urls)).toEqual({
    batcher: 'http://127.0.0.1:8082', watcher: 'http://127.0.0.1:8083', 'clowder-ingest': 'http://127.0.0.1:8085', 'transfer-log': 'http://log.example:9000',
    'cleaner@ua-mac': 'http://127.0.0.1:8084', 'log-tailer@ua-mac': 'http://127.0.0.1:8081',
    'cleaner@ksu': 'http://ksu-cleaner:8084', 'log-tailer@ksu': 'http://127.0.0.1:8181',
  });
  expect(() => serviceUrls(sites, ['no-equals-sign'])).toThrow(/SERVICE_URLS/);
});
