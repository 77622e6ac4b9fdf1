export * from './states.js';
export * from './ledger.js';
export * from './version.js';
