import { createRegistry } from '@terra-transfer/platform';
import { testLogger } from '@terra-transfer/testkit';
import { Store } from '../src/adapters/store.js';
import { buildSimApp, type SimOptions } from '../src/app.js';

export const COMM_KEY = 'r1ek3rs';
export const ADMIN = 'admin-token';
export const USER = { email: 'uploader@terraref.org', fullName: 'TERRA Uploader', password: 'pw', key: 'user-key', admin: false, id: '5a0000000000000000000001' };
export const OTHER = { email: 'other@terraref.org', fullName: 'Other', key: 'other-key', admin: false, id: '5a0000000000000000000002' };

export async function sim(over: Partial<SimOptions> & { dataDir?: string } = {}) {
  const store = over.store ?? new Store({ dataDir: over.dataDir });
  const s = await buildSimApp({
    store,
    logger: testLogger(),
    registry: createRegistry(),
    users: [USER, OTHER],
    commKey: COMM_KEY,
    sourcePaths: ['/home/clowder/sites'],
    adminToken: ADMIN,
    ...over,
    faults: { latencyMs: 0, ...over.faults },
  });
  return { ...s, store };
}
