export { ServiceProcess, serviceEntry } from './process.js';
export * from './gantry.js';
export * from './stack.js';
export * from './local.js';
export * from './verify.js';
export * from './demo-sites.js';
export * from './instruments.js';
export * from './transfer-log-figures.js';
export * from './scanalyzer.js';
