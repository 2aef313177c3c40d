export {};
export * from './xbzrle/index.js';
