export * from './registry.js';
export * from './topology.js';
export * from './messages/file-uploaded.js';
export * from './messages/task-submitted.js';
export * from './messages/file-transferred.js';
export * from './messages/file-failed.js';
export * from './messages/file-deleted.js';
export * from './messages/file-ingested.js';
