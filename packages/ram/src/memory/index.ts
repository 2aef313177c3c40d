export { PAGE_SIZE, PAGE_SHIFT } from './constants.js';
export { type RamBlock, createRamBlock } from './ram-block.js';
export { GuestRam, type RamLocation } from './guest-ram.js';
export { DirtyBitmap, popcount32 } from '@mig/core';
export { isZeroPage, isFilledPage, wordView } from './zero-page.js';
export { copyBytes } from './copy.js';
