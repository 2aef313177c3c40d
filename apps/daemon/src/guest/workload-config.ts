// The guest workload's settings: `-workload dirty-rate=SIZE/s,wss=SIZE[,offset=SIZE][,pattern=...]` and the
// x-mig-workload QMP command. `dirty-rate` counts page writes: 20M/s is 20 MiB of pages per second, i.e.
// 5120 writes of one page each (a page chosen at random in the working set).
import { parseOptionList } from '../cli/options.js';
import { parseSize } from '../cli/size.js';

export const WORKLOAD_PATTERNS = ['random', 'sparse', 'zero'] as const;
export type WorkloadPattern = (typeof WORKLOAD_PATTERNS)[number];

export const WORKLOAD_PAGE_SIZE = 4096;

export interface WorkloadConfig {
  /** Bytes of pages written per second (writes/s × 4096). */
  dirtyRate: number;
  /** Working-set size in bytes (a multiple of the page size). */
  wss: number;
  /** Guest-physical address where the working set begins (page aligned). */
  offset: number;
  pattern: WorkloadPattern;
}

export class WorkloadConfigError extends Error {
  override name = 'WorkloadConfigError';
}

/** Parses a rate `SIZE/s` (or a bare SIZE, meaning per second) into bytes per second. */
export function parseRate(text: string, what = 'dirty-rate'): number {
  const body = text.trim().replace(/\/s$/i, '');
  try {
    return parseSize(body, 'b');
  } catch (err) {
    throw new WorkloadConfigError(`${what}=${text}: ${(err as Error).message.replace(/^invalid size/, 'invalid rate')} (e.g. 20M/s)`);
  }
}

function size(key: string, text: string): number {
  try {
    return parseSize(text, 'b');
  } catch (err) {
    throw new WorkloadConfigError(`${key}=${text}: ${(err as Error).message}`);
  }
}

/**
 * Checks a complete config against the guest RAM size: the working set must be non-empty, page aligned and lie
 * inside guest RAM [0, ramSize). Returns it unchanged; throws WorkloadConfigError naming the bad member.
 */
export function validateWorkload(config: WorkloadConfig, ramSize: number): WorkloadConfig {
  const { dirtyRate, wss, offset, pattern } = config;
  if (!Number.isSafeInteger(dirtyRate) || dirtyRate < 0) throw new WorkloadConfigError(`dirty-rate must be a non-negative number of bytes per second, got ${dirtyRate}`);
  if (!Number.isSafeInteger(wss) || wss <= 0 || wss % WORKLOAD_PAGE_SIZE !== 0) {
    throw new WorkloadConfigError(`wss must be a positive multiple of ${WORKLOAD_PAGE_SIZE} bytes, got ${wss}`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0 || offset % WORKLOAD_PAGE_SIZE !== 0) {
    throw new WorkloadConfigError(`offset must be a non-negative multiple of ${WORKLOAD_PAGE_SIZE} bytes, got ${offset}`);
  }
  if (!WORKLOAD_PATTERNS.includes(pattern)) {
    throw new WorkloadConfigError(`pattern '${String(pattern)}' is not one of ${WORKLOAD_PATTERNS.join(', ')}`);
  }
  if (offset + wss > ramSize) {
    throw new WorkloadConfigError(`working set [0x${offset.toString(16)}, 0x${(offset + wss).toString(16)}) is outside guest RAM of ${ramSize} bytes`);
  }
  return config;
}

/** `-workload dirty-rate=20M/s,wss=64M,pattern=sparse`: defaults offset 0, pattern sparse, wss = all of RAM. */
export function parseWorkloadOption(text: string): Partial<WorkloadConfig> & { dirtyRate: number } {
  const list = parseOptionList(text);
  let dirtyRate: number | undefined;
  const out: Partial<WorkloadConfig> = {};
  for (const [key, value] of list.props) {
    switch (key) {
      case 'dirty-rate':
        dirtyRate = parseRate(value);
        break;
      case 'wss':
        out.wss = size('wss', value);
        break;
      case 'offset':
        out.offset = size('offset', value);
        break;
      case 'pattern':
        if (!(WORKLOAD_PATTERNS as readonly string[]).includes(value)) {
          throw new WorkloadConfigError(`pattern=${value}: expected one of ${WORKLOAD_PATTERNS.join(', ')}`);
        }
        out.pattern = value as WorkloadPattern;
        break;
      default:
        throw new WorkloadConfigError(`property '${key}' not found (expected dirty-rate, wss, offset, pattern)`);
    }
  }
  if (dirtyRate === undefined) throw new WorkloadConfigError("Parameter 'dirty-rate' is missing (e.g. dirty-rate=20M/s)");
  return { ...out, dirtyRate };
}

/** Fills the defaults of a partial config for a guest of `ramSize` bytes, then validates it. */
export function completeWorkload(partial: Partial<WorkloadConfig> & { dirtyRate: number }, ramSize: number): WorkloadConfig {
  const offset = partial.offset ?? 0;
  return validateWorkload(
    { dirtyRate: partial.dirtyRate, wss: partial.wss ?? ramSize - offset, offset, pattern: partial.pattern ?? 'sparse' },
    ramSize,
  );
}
