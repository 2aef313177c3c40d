import { z } from 'zod';
import { ParameterError } from './errors.js';

/** x86 target page size: xbzrle-cache-size must be at least this, and query-migrate reports it. */
export const TARGET_PAGE_SIZE = 4096;
/**
 * QEMU 7.2's default max-bandwidth (MAX_THROTTLE = 128 MiB/s since QEMU 5.2; `query-migrate-parameters`
 * on QEMU 7.2 answers 134217728).
 */
export const QEMU_DEFAULT_MAX_BANDWIDTH = 128 * 1024 * 1024;
/** The seed's (QEMU 2.0) default max-bandwidth, 32 MiB/s. */
export const SEED_DEFAULT_MAX_BANDWIDTH = 32 * 1024 * 1024;
/** MAX_MIGRATE_DOWNTIME: the largest downtime-limit, in ms. */
export const MAX_DOWNTIME_LIMIT_MS = 2000 * 1000;
/** MAX_MIGRATE_DOWNTIME_SECONDS: the largest value of the legacy migrate_set_downtime. */
export const MAX_DOWNTIME_SECONDS = 2000;
/** SIZE_MAX on a 64-bit host (as a double: 2^64). */
export const SIZE_MAX = 2 ** 64;

export const MULTIFD_COMPRESSIONS = ['none', 'zlib', 'zstd'] as const;
export type MultiFDCompression = (typeof MULTIFD_COMPRESSIONS)[number];

const uint = z.number().int().nonnegative();
const bitmapAliasSchema = z.strictObject({
  name: z.string(),
  alias: z.string(),
  transform: z.strictObject({ persistent: z.boolean().optional() }).optional(),
});
export const bitmapMigrationNodeAliasSchema = z.strictObject({
  'node-name': z.string(),
  alias: z.string(),
  bitmaps: z.array(bitmapAliasSchema),
});
export type BitmapMigrationNodeAlias = z.infer<typeof bitmapMigrationNodeAliasSchema>;

/**
 * mig's own x-stall-timeout (not in QEMU 7.2): ms without progress from the peer after which a migration
 * fails (0 = never, QEMU's behaviour).
 */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;

/** QEMU 7.2's MigrationParameters (and mig's x-stall-timeout) as mig stores them (all members present; tls-* are strings, "" = unset). */
export const migrationParametersSchema = z.strictObject({
  'announce-initial': uint,
  'announce-max': uint,
  'announce-rounds': uint,
  'announce-step': uint,
  'compress-level': uint.max(255),
  'compress-threads': uint.max(255),
  'compress-wait-thread': z.boolean(),
  'decompress-threads': uint.max(255),
  'throttle-trigger-threshold': uint.max(255),
  'cpu-throttle-initial': uint.max(255),
  'cpu-throttle-increment': uint.max(255),
  'cpu-throttle-tailslow': z.boolean(),
  'tls-creds': z.string(),
  'tls-hostname': z.string(),
  'tls-authz': z.string(),
  'max-bandwidth': uint,
  'downtime-limit': uint,
  'x-checkpoint-delay': uint.max(0xffffffff),
  'block-incremental': z.boolean(),
  'multifd-channels': uint.max(255),
  'xbzrle-cache-size': uint,
  'max-postcopy-bandwidth': uint,
  'max-cpu-throttle': uint.max(255),
  'multifd-compression': z.enum(MULTIFD_COMPRESSIONS),
  'multifd-zlib-level': uint.max(255),
  'multifd-zstd-level': uint.max(255),
  'x-stall-timeout': uint,
  'block-bitmap-mapping': z.array(bitmapMigrationNodeAliasSchema).optional(),
});
export type MigrationParameters = z.infer<typeof migrationParametersSchema>;
export type MigrationParameterName = keyof MigrationParameters;

/** QEMU 7.2's MigrateSetParameters (the `migrate-set-parameters` arguments): every member optional. */
export const migrateSetParametersSchema = migrationParametersSchema.partial().extend({
  'tls-creds': z.string().nullable().optional(),
  'tls-hostname': z.string().nullable().optional(),
  'tls-authz': z.string().nullable().optional(),
});
export type MigrateSetParameters = z.infer<typeof migrateSetParametersSchema>;

type Kind = 'uint8' | 'uint32' | 'uint64' | 'bool' | 'strOrNull' | 'compression' | 'mapping';

/** Member names in QEMU's order with their QAPI types. */
const MEMBERS: ReadonlyArray<readonly [MigrationParameterName, Kind]> = [
  ['announce-initial', 'uint64'],
  ['announce-max', 'uint64'],
  ['announce-rounds', 'uint64'],
  ['announce-step', 'uint64'],
  ['compress-level', 'uint8'],
  ['compress-threads', 'uint8'],
  ['compress-wait-thread', 'bool'],
  ['decompress-threads', 'uint8'],
  ['throttle-trigger-threshold', 'uint8'],
  ['cpu-throttle-initial', 'uint8'],
  ['cpu-throttle-increment', 'uint8'],
  ['cpu-throttle-tailslow', 'bool'],
  ['tls-creds', 'strOrNull'],
  ['tls-hostname', 'strOrNull'],
  ['tls-authz', 'strOrNull'],
  ['max-bandwidth', 'uint64'],
  ['downtime-limit', 'uint64'],
  ['x-checkpoint-delay', 'uint32'],
  ['block-incremental', 'bool'],
  ['multifd-channels', 'uint8'],
  ['xbzrle-cache-size', 'uint64'],
  ['max-postcopy-bandwidth', 'uint64'],
  ['max-cpu-throttle', 'uint8'],
  ['multifd-compression', 'compression'],
  ['multifd-zlib-level', 'uint8'],
  ['multifd-zstd-level', 'uint8'],
  ['x-stall-timeout', 'uint64'],
  ['block-bitmap-mapping', 'mapping'],
];
const KIND = new Map<string, Kind>(MEMBERS);

/** QEMU 7.2's defaults (migration.c migration_properties), as `query-migrate-parameters` shows them, and mig's own. */
export function defaultParameters(): MigrationParameters {
  return {
    'announce-initial': 50,
    'announce-max': 550,
    'announce-rounds': 5,
    'announce-step': 100,
    'compress-level': 1,
    'compress-threads': 8,
    'compress-wait-thread': true,
    'decompress-threads': 2,
    'throttle-trigger-threshold': 50,
    'cpu-throttle-initial': 20,
    'cpu-throttle-increment': 10,
    'cpu-throttle-tailslow': false,
    'tls-creds': '',
    'tls-hostname': '',
    'tls-authz': '',
    // mig keeps the seed's 32 MiB/s (the contract); QEMU 7.2 itself defaults to 128 MiB/s.
    'max-bandwidth': SEED_DEFAULT_MAX_BANDWIDTH,
    'downtime-limit': 300,
    'x-checkpoint-delay': 20000,
    'block-incremental': false,
    'multifd-channels': 2,
    'xbzrle-cache-size': 64 * 1024 * 1024,
    'max-postcopy-bandwidth': 0,
    'max-cpu-throttle': 99,
    'multifd-compression': 'none',
    'multifd-zlib-level': 1,
    'multifd-zstd-level': 1,
    'x-stall-timeout': DEFAULT_STALL_TIMEOUT_MS,
  };
}

const expects = (name: string, what: string) => new ParameterError(name, `Parameter '${name}' expects ${what}`);
const badType = (name: string, what: string) =>
  new ParameterError(name, `Invalid parameter type for '${name}', expected: ${what}`);

/** A QAPI uint64 as QEMU's input visitor takes it: an integer in int64 ∪ uint64; negatives wrap. */
function toUint64(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 63) || v >= 2 ** 64) {
    throw expects(name, 'uint64');
  }
  return v < 0 ? 2 ** 64 + v : v;
}

function checkMapping(name: string, v: unknown): BitmapMigrationNodeAlias[] {
  if (!Array.isArray(v)) throw badType(name, 'array');
  const str = (obj: Record<string, unknown>, path: string, key: string) => {
    if (!(key in obj)) throw new ParameterError(`${path}.${key}`, `Parameter '${path}.${key}' is missing`);
    if (typeof obj[key] !== 'string') throw badType(`${path}.${key}`, 'string');
  };
  const obj = (x: unknown, path: string): Record<string, unknown> => {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) throw badType(path, 'object');
    return x as Record<string, unknown>;
  };
  const extra = (o: Record<string, unknown>, path: string, allowed: readonly string[]) => {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) throw new ParameterError(`${path}.${k}`, `Parameter '${path}.${k}' is unexpected`);
    }
  };
  v.forEach((node, i) => {
    const p = `${name}[${i}]`;
    const n = obj(node, p);
    str(n, p, 'node-name');
    str(n, p, 'alias');
    if (!('bitmaps' in n)) throw new ParameterError(`${p}.bitmaps`, `Parameter '${p}.bitmaps' is missing`);
    if (!Array.isArray(n.bitmaps)) throw badType(`${p}.bitmaps`, 'array');
    (n.bitmaps as unknown[]).forEach((bm, j) => {
      const bp = `${p}.bitmaps[${j}]`;
      const b = obj(bm, bp);
      str(b, bp, 'name');
      str(b, bp, 'alias');
      if ('transform' in b) {
        const t = obj(b.transform, `${bp}.transform`);
        if ('persistent' in t && typeof t.persistent !== 'boolean') throw badType(`${bp}.transform.persistent`, 'boolean');
        extra(t, `${bp}.transform`, ['persistent']);
      }
      extra(b, bp, ['name', 'alias', 'transform']);
    });
    extra(n, p, ['node-name', 'alias', 'bitmaps']);
  });
  return structuredClone(v) as BitmapMigrationNodeAlias[];
}

/**
 * Checks the members of a `migrate-set-parameters` request as QEMU's QAPI visitor does (types, uint8 and
 * uint32 limits, enum values, unknown members) and returns the patch with QEMU's value conversions
 * (negative uint64 wraps to 2^64 + v). Messages are QEMU 7.2's.
 */
export function parseSetParameters(args: unknown): MigrateSetParameters {
  if (args === undefined || args === null) return {};
  if (typeof args !== 'object' || Array.isArray(args)) {
    throw new ParameterError('arguments', `Invalid parameter type for 'arguments', expected: object`);
  }
  const src = args as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [name, kind] of MEMBERS) {
    if (!(name in src) || src[name] === undefined) continue;
    const v = src[name];
    switch (kind) {
      case 'uint8':
      case 'uint32': {
        const n = toUint64(name, v);
        if (n > (kind === 'uint8' ? 0xff : 0xffffffff)) throw expects(name, `${kind}_t`);
        out[name] = n;
        break;
      }
      case 'uint64':
        out[name] = toUint64(name, v);
        break;
      case 'bool':
        if (typeof v !== 'boolean') throw badType(name, 'boolean');
        out[name] = v;
        break;
      case 'strOrNull':
        if (v !== null && typeof v !== 'string') throw badType(name, 'StrOrNull');
        out[name] = v;
        break;
      case 'compression':
        if (typeof v !== 'string') throw badType(name, 'string');
        if (!(MULTIFD_COMPRESSIONS as readonly string[]).includes(v)) {
          throw new ParameterError(name, `Parameter '${name}' does not accept value '${v}'`);
        }
        out[name] = v;
        break;
      case 'mapping':
        out[name] = checkMapping(name, v);
        break;
    }
  }
  for (const key of Object.keys(src)) {
    if (!KIND.has(key)) throw new ParameterError(key, `Parameter '${key}' is unexpected`);
  }
  return out as MigrateSetParameters;
}

function isPowerOfTwo(n: number): boolean {
  // 2^64 itself is what a wrapped -1 rounds to as a double: not a uint64, so not a power of two here
  return n > 0 && n < 2 ** 64 && Number.isInteger(n) && 2 ** Math.round(Math.log2(n)) === n;
}

/** QEMU 7.2's migrate_params_check over a complete set of parameters, in QEMU's order. */
export function checkParameters(p: MigrationParameters): void {
  const between = (name: string, what: string) => expects(name, what);
  if (p['compress-level'] > 9) throw between('compress_level', 'a value between 0 and 9');
  if (p['compress-threads'] < 1) throw between('compress_threads', 'a value between 1 and 255');
  if (p['decompress-threads'] < 1) throw between('decompress_threads', 'a value between 1 and 255');
  const ttt = p['throttle-trigger-threshold'];
  if (ttt < 1 || ttt > 100) throw between('throttle_trigger_threshold', 'an integer in the range of 1 to 100');
  const cti = p['cpu-throttle-initial'];
  if (cti < 1 || cti > 99) throw between('cpu_throttle_initial', 'an integer in the range of 1 to 99');
  const ctc = p['cpu-throttle-increment'];
  if (ctc < 1 || ctc > 99) throw between('cpu_throttle_increment', 'an integer in the range of 1 to 99');
  if (p['max-bandwidth'] > SIZE_MAX) {
    throw between('max_bandwidth', 'an integer in the range of 0 to (18446744073709551615UL) bytes/second');
  }
  if (p['downtime-limit'] > MAX_DOWNTIME_LIMIT_MS) {
    throw between('downtime_limit', 'an integer in the range of 0 to (2000 * 1000) ms');
  }
  if (p['multifd-channels'] < 1) throw between('multifd_channels', 'a value between 1 and 255');
  if (p['multifd-zlib-level'] > 9) throw between('multifd_zlib_level', 'a value between 0 and 9');
  if (p['multifd-zstd-level'] > 20) throw between('multifd_zstd_level', 'a value between 0 and 20');
  const xcs = p['xbzrle-cache-size'];
  if (xcs < TARGET_PAGE_SIZE || !isPowerOfTwo(xcs)) {
    throw between('xbzrle_cache_size', 'a power of two no less than the target page size');
  }
  const mct = p['max-cpu-throttle'];
  if (mct < cti || mct > 99) {
    throw between('max_cpu_throttle', 'an integer in the range of cpu_throttle_initial to 99');
  }
  if (p['announce-initial'] > 100000) throw between('announce_initial', 'a value between 0 and 100000');
  if (p['announce-max'] > 100000) throw between('announce_max', 'a value between 0 and 100000');
  if (p['announce-rounds'] > 1000) throw between('announce_rounds', 'a value between 0 and 1000');
  const step = p['announce-step'];
  if (step < 1 || step > 10000) throw between('announce_step', 'a value between 0 and 10000');
}

/**
 * `migrate-set-parameters`: checks `patch` (see parseSetParameters), merges it over `current`, checks the
 * result as QEMU 7.2 does and returns it as a new object; `current` is not changed. Throws ParameterError
 * with QEMU's message. A null tls-* member resets it to "" as QEMU does.
 *
 * Unlike QEMU 7.2 (which accepts and then drops multifd-zlib-level / multifd-zstd-level), those two are
 * checked and kept.
 */
export function applyParameters(current: MigrationParameters, patch: unknown): MigrationParameters {
  const parsed = parseSetParameters(patch);
  const next: MigrationParameters = { ...current };
  for (const [name] of MEMBERS) {
    if (!(name in parsed)) continue;
    const v = (parsed as Record<string, unknown>)[name];
    (next as Record<string, unknown>)[name] = v === null ? '' : v;
  }
  checkParameters(next);
  return next;
}

/** The `query-migrate-parameters` reply: every member in QEMU's order; block-bitmap-mapping only when set. */
export function queryParameters(p: MigrationParameters): MigrationParameters {
  const out: Record<string, unknown> = {};
  for (const [name] of MEMBERS) {
    const v = p[name];
    if (v === undefined) continue;
    out[name] = name === 'block-bitmap-mapping' ? structuredClone(v) : v;
  }
  return out as MigrationParameters;
}

function requireNumber(name: string, v: unknown): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw badType(name, 'number');
  return v;
}

/**
 * Legacy `migrate_set_speed {value}` (bytes/s) as QEMU 2.0 did it: a negative value becomes 0, a value past
 * SIZE_MAX becomes SIZE_MAX; the result is the new max-bandwidth.
 */
export function legacySetSpeed(current: MigrationParameters, value: unknown): MigrationParameters {
  let v = Math.trunc(requireNumber('value', value));
  if (v < 0) v = 0;
  if (v > SIZE_MAX) v = SIZE_MAX;
  return { ...current, 'max-bandwidth': v };
}

/**
 * Legacy `migrate_set_downtime {value}`: seconds (a float) → downtime-limit in ms, truncated. Outside
 * 0..2000 s it fails with the message QEMU gave until the command was removed.
 */
export function legacySetDowntime(current: MigrationParameters, seconds: unknown): MigrationParameters {
  const v = requireNumber('value', seconds);
  if (!(v >= 0 && v <= MAX_DOWNTIME_SECONDS)) {
    throw expects('downtime_limit', `an integer in the range of 0 to ${MAX_DOWNTIME_SECONDS} seconds`);
  }
  return { ...current, 'downtime-limit': Math.trunc(v * 1000) };
}

export interface LegacyCacheSizeOptions {
  /** Guest RAM size: the seed refused a cache larger than that. */
  guestRamBytes?: number;
}

/**
 * Legacy `migrate-set-cache-size {value}` (bytes) as QEMU 2.0 did it: not more than guest RAM, not less than
 * a page, rounded down to a power of two; the result is the new xbzrle-cache-size.
 */
export function legacySetCacheSize(
  current: MigrationParameters,
  value: unknown,
  options: LegacyCacheSizeOptions = {},
): MigrationParameters {
  const v = requireNumber('value', value);
  if (!Number.isInteger(v) || v >= SIZE_MAX) throw expects('cache size', 'exceeding address space');
  if (options.guestRamBytes !== undefined && v > options.guestRamBytes) {
    throw expects('cache size', 'exceeds guest ram size');
  }
  if (v < TARGET_PAGE_SIZE) throw expects('cache size', 'is smaller than page size');
  let pow = 2 ** Math.floor(Math.log2(v));
  if (pow > v) pow /= 2; // log2 rounded up just below a power of two
  return { ...current, 'xbzrle-cache-size': pow };
}

/** Legacy `query-migrate-cache-size`: the xbzrle-cache-size. */
export function legacyQueryCacheSize(p: MigrationParameters): number {
  return p['xbzrle-cache-size'];
}
