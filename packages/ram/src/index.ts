export * from './memory/index.js';
export * from './wire/index.js';
export * from './stream/index.js';
export * from './xbzrle/index.js';
