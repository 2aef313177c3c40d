export * from './constants.js';
export { StreamError } from './stream-error.js';
export { StreamWriter, DEFAULT_CHUNK_SIZE, type RamBlockSize } from './stream-writer.js';
export { StreamReader, type StreamVisitor, type StreamReaderOptions } from './stream-reader.js';
