export * from './errors.js';
export * from './notifiers.js';
export * from './status.js';
export * from './params.js';
export * from './capabilities.js';
export * from './blockers.js';
export * from './stats.js';
export * from './precopy.js';
