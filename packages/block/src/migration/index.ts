export * from './constants.js';
export { type BlockSourceDevice, type BlockTargetDevice, imageSourceDevice, imageTargetDevice } from './block-device.js';
export { writeBlockChunk, writeBlockEos, writeBlockProgress, writeBlockZeroChunk } from './block-record-writer.js';
export { BlockSectionReader, type BlockDeviceShape, type BlockVisitor } from './block-section-reader.js';
export { BlockLoader, type BlockLoaderOptions, type PaddingData } from './block-loader.js';
export { BlockSaveSection, type BlockSaveSectionOptions } from './block-save-section.js';
