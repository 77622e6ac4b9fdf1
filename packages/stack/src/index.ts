export { ServiceProcess, serviceEntry } from './process.js';
export * from './gantry.js';
export * from './stack.js';
export * from './local.js';
export * from './verify.js';
