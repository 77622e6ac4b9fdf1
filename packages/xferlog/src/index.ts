export * from './xferlog.js';
export * from './rotation.js';
export * from './lossy-name.js';
