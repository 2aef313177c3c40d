export * from './constants.js';
export {
  encodeBlockId,
  writeRamEos,
  writeRamMemSize,
  writeRamPage,
  writeRamXbzrle,
  writeRamZero,
  type RamBlockSize,
} from './ram-record-writer.js';
export { RamSectionReader, type RamVisitor } from './ram-section-reader.js';
