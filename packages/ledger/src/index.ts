export * from './states.js';
export * from './ledger.js';
