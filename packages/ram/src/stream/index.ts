export { RamSaveSection, type RamSaveSectionOptions } from './ram-save-section.js';
export { RamLoader, type RamLoaderOptions, type XbzrlePageHandler } from './ram-loader.js';
