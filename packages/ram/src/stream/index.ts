export type { ByteSink, MigrationSaver } from '@mig/core';
export { SavevmSaver, type SavevmSaverOptions } from './savevm-saver.js';
export { StreamLoader, type StreamLoaderOptions, type LoadResult, type XbzrlePageHandler } from './stream-loader.js';
export { machineNoneVmdesc } from './vmdesc.js';
