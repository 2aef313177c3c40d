// A disk workload's settings: `-disk-workload drive=ID,rate=SIZE/s[,region=OFFSET+LEN][,pattern=...][,block=SIZE]`
// and the x-mig-disk-workload QMP command. Each write is `block` bytes at a block-aligned random offset of the
// region; `rate` is bytes per second (rate / block writes a second).
import { parseOptionList } from '../cli/options.js';
import { parseSize } from '../cli/size.js';
import { parseRate, WorkloadConfigError } from './workload-config.js';

export const DISK_WORKLOAD_PATTERNS = ['random', 'sparse', 'zero'] as const;
export type DiskWorkloadPattern = (typeof DISK_WORKLOAD_PATTERNS)[number];

/** Writes are sector aligned, as a guest's are. */
export const DISK_SECTOR = 512;
/** One write is at most a block-migration chunk (the buffers in flight stay small). */
export const MAX_DISK_BLOCK = 1 << 20;
export const DEFAULT_DISK_BLOCK = 64 << 10;

export interface DiskWorkloadConfig {
  /** Bytes written per second. */
  rate: number;
  /** The region written: [offset, offset + length) of the drive. */
  offset: number;
  length: number;
  pattern: DiskWorkloadPattern;
  /** Bytes per write. */
  block: number;
}

/** What the command line or QMP gave: the drive, the rate, and any of the rest. */
export type DiskWorkloadSettings = Partial<DiskWorkloadConfig> & { rate: number };

export interface DiskWorkloadOption extends DiskWorkloadSettings {
  drive: string;
}

function size(key: string, text: string): number {
  try {
    return parseSize(text, 'b');
  } catch (err) {
    throw new WorkloadConfigError(`${key}=${text}: ${(err as Error).message}`);
  }
}

/** `drive=d0,rate=4M/s,region=1M+8M,pattern=random,block=64k`. */
export function parseDiskWorkloadOption(text: string): DiskWorkloadOption {
  const out: Partial<DiskWorkloadOption> = {};
  for (const [key, value] of parseOptionList(text).props) {
    switch (key) {
      case 'drive':
        out.drive = value;
        break;
      case 'rate':
        out.rate = parseRate(value, 'rate');
        break;
      case 'region': {
        const plus = value.indexOf('+');
        if (plus < 0) throw new WorkloadConfigError(`region=${value}: expected OFFSET+LENGTH (e.g. 1M+8M)`);
        out.offset = size('region offset', value.slice(0, plus));
        out.length = size('region length', value.slice(plus + 1));
        break;
      }
      case 'pattern':
        if (!(DISK_WORKLOAD_PATTERNS as readonly string[]).includes(value)) {
          throw new WorkloadConfigError(`pattern=${value}: expected one of ${DISK_WORKLOAD_PATTERNS.join(', ')}`);
        }
        out.pattern = value as DiskWorkloadPattern;
        break;
      case 'block':
        out.block = size('block', value);
        break;
      default:
        throw new WorkloadConfigError(`property '${key}' not found (expected drive, rate, region, pattern, block)`);
    }
  }
  if (out.drive === undefined || out.drive === '') throw new WorkloadConfigError("Parameter 'drive' is missing (e.g. drive=d0)");
  if (out.rate === undefined) throw new WorkloadConfigError("Parameter 'rate' is missing (e.g. rate=4M/s)");
  return out as DiskWorkloadOption;
}

/**
 * Fills the defaults for a drive of `driveSize` bytes (offset 0, the rest of the drive, pattern random, 64 KiB
 * blocks) and checks the result: sector-aligned blocks of at most 1 MiB, a region inside the drive that holds
 * at least one block. Throws WorkloadConfigError naming the bad member.
 */
export function completeDiskWorkload(settings: DiskWorkloadSettings, driveSize: number): DiskWorkloadConfig {
  const offset = settings.offset ?? 0;
  const config: DiskWorkloadConfig = {
    rate: settings.rate,
    offset,
    length: settings.length ?? Math.max(0, driveSize - offset),
    pattern: settings.pattern ?? 'random',
    block: settings.block ?? DEFAULT_DISK_BLOCK,
  };
  const { rate, length, block } = config;
  if (!Number.isSafeInteger(rate) || rate < 0) throw new WorkloadConfigError(`rate must be a non-negative number of bytes per second, got ${rate}`);
  if (!Number.isSafeInteger(block) || block < DISK_SECTOR || block > MAX_DISK_BLOCK || block % DISK_SECTOR !== 0) {
    throw new WorkloadConfigError(`block must be a multiple of ${DISK_SECTOR} bytes from ${DISK_SECTOR} to 1 MiB, got ${block}`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0 || offset % DISK_SECTOR !== 0) {
    throw new WorkloadConfigError(`region offset must be a non-negative multiple of ${DISK_SECTOR} bytes, got ${offset}`);
  }
  if (!Number.isSafeInteger(length) || offset + length > driveSize) {
    throw new WorkloadConfigError(`region [${offset}, ${offset + length}) is outside the drive of ${driveSize} bytes`);
  }
  if (length < block) throw new WorkloadConfigError(`region of ${length} bytes holds no block of ${block} bytes`);
  return config;
}
