// Header extensions (after the fixed header, in the first cluster) and the backing file name.
import { CorruptImageError } from '../disk-image-error.js';
import {
  EXT_BACKING_FORMAT,
  EXT_BITMAPS,
  EXT_DATA_FILE,
  EXT_END,
  EXT_FEATURE_NAMES,
  EXT_FULL_DISK_ENCRYPTION,
  FEATURE_NAME_ENTRY_SIZE,
  MAX_BACKING_FILE_NAME,
} from './format.js';
import type { Qcow2Header } from './header.js';

export interface Qcow2FeatureName {
  /** 0 incompatible, 1 compatible, 2 autoclear. */
  type: number;
  bit: number;
  name: string;
}

export interface Qcow2Extensions {
  backingFormat: string | undefined;
  dataFile: string | undefined;
  featureNames: Qcow2FeatureName[];
  hasBitmaps: boolean;
  hasFullDiskEncryption: boolean;
}

/**
 * Walks the extensions up to the end marker. As in QEMU, the area stops at the backing file name when
 * there is one (old images put the name right after the header, with no end marker).
 */
export function parseExtensions(cluster0: Uint8Array, header: Qcow2Header, image: string): Qcow2Extensions {
  const ext: Qcow2Extensions = {
    backingFormat: undefined,
    dataFile: undefined,
    featureNames: [],
    hasBitmaps: false,
    hasFullDiskEncryption: false,
  };
  const view = new DataView(cluster0.buffer, cluster0.byteOffset, cluster0.byteLength);
  const end = header.backingFileOffset !== 0 ? Math.min(header.backingFileOffset, cluster0.length) : cluster0.length;
  let at = header.headerLength;
  while (at + 8 <= end) {
    const type = view.getUint32(at);
    const len = view.getUint32(at + 4);
    if (type === EXT_END) return ext;
    const data = at + 8;
    if (data + len > end) {
      throw new CorruptImageError(image, `header extension 0x${type.toString(16)} at byte ${at} overruns its area`);
    }
    readExtension(ext, type, cluster0.subarray(data, data + len));
    at = data + Math.ceil(len / 8) * 8;
  }
  return ext;
}

function readExtension(ext: Qcow2Extensions, type: number, data: Uint8Array): void {
  switch (type) {
    case EXT_BACKING_FORMAT:
      ext.backingFormat = text(data);
      break;
    case EXT_DATA_FILE:
      ext.dataFile = text(data);
      break;
    case EXT_FEATURE_NAMES:
      for (let i = 0; i + FEATURE_NAME_ENTRY_SIZE <= data.length; i += FEATURE_NAME_ENTRY_SIZE) {
        const raw = data.subarray(i + 2, i + FEATURE_NAME_ENTRY_SIZE);
        const nul = raw.indexOf(0);
        ext.featureNames.push({ type: data[i]!, bit: data[i + 1]!, name: text(nul < 0 ? raw : raw.subarray(0, nul)) });
      }
      break;
    case EXT_BITMAPS:
      ext.hasBitmaps = true;
      break;
    case EXT_FULL_DISK_ENCRYPTION:
      ext.hasFullDiskEncryption = true;
      break;
    default:
      break; // unknown extensions may be ignored
  }
}

/** The backing file name stored in the first cluster, or undefined when there is none. */
export function backingFileName(cluster0: Uint8Array, header: Qcow2Header, image: string): string | undefined {
  if (header.backingFileOffset === 0) return undefined;
  const { backingFileOffset: at, backingFileSize: len } = header;
  if (len === 0) return undefined;
  if (len > MAX_BACKING_FILE_NAME) {
    throw new CorruptImageError(image, `backing file name is ${len} bytes (at most ${MAX_BACKING_FILE_NAME})`);
  }
  if (at + len > cluster0.length) {
    throw new CorruptImageError(image, `backing file name at byte ${at} runs past the first cluster`);
  }
  return text(cluster0.subarray(at, at + len));
}

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
