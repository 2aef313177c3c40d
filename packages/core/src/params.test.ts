import { describe, expect, it } from 'vitest';
import { ParameterError } from './errors.js';
import {
  applyParameters,
  defaultParameters,
  legacyQueryCacheSize,
  legacySetCacheSize,
  legacySetDowntime,
  legacySetSpeed,
  migrateSetParametersSchema,
  migrationParametersSchema,
  parseSetParameters,
  queryParameters,
} from './params.js';

// `query-migrate-parameters` of a fresh qemu-system-x86_64 7.2 (Debian 1:7.2+dfsg-7+deb12u18), captured here.
const QEMU_72_DEFAULTS = JSON.parse(
  '{"cpu-throttle-tailslow": false, "xbzrle-cache-size": 67108864, "cpu-throttle-initial": 20, "announce-max": 550, "decompress-threads": 2, "compress-threads": 8, "compress-level": 1, "multifd-channels": 2, "multifd-zstd-level": 1, "announce-initial": 50, "block-incremental": false, "compress-wait-thread": true, "downtime-limit": 300, "tls-authz": "", "multifd-compression": "none", "announce-rounds": 5, "announce-step": 100, "tls-creds": "", "multifd-zlib-level": 1, "max-cpu-throttle": 99, "max-postcopy-bandwidth": 0, "tls-hostname": "", "throttle-trigger-threshold": 50, "max-bandwidth": 134217728, "x-checkpoint-delay": 20000, "cpu-throttle-increment": 10}',
);

const err = (fn: () => unknown): ParameterError => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ParameterError);
    return e as ParameterError;
  }
  throw new Error('expected a ParameterError');
};

describe('defaults and query-migrate-parameters', () => {
  it("match QEMU 7.2 exactly, except max-bandwidth, which keeps the seed's 32 MiB/s, and mig's x-stall-timeout", () => {
    expect(queryParameters(defaultParameters())).toEqual({ ...QEMU_72_DEFAULTS, 'max-bandwidth': 33554432, 'x-stall-timeout': 30000 });
    expect(migrationParametersSchema.parse(defaultParameters())).toEqual(defaultParameters());
  });

  it('list members in QEMU order and show block-bitmap-mapping only once set', () => {
    const keys = Object.keys(queryParameters(defaultParameters()));
    expect(keys.slice(0, 4)).toEqual(['announce-initial', 'announce-max', 'announce-rounds', 'announce-step']);
    expect(keys.at(-2)).toBe('multifd-zstd-level');
    expect(keys.at(-1)).toBe('x-stall-timeout'); // mig's own, after QEMU's
    const p = applyParameters(defaultParameters(), { 'block-bitmap-mapping': [] });
    expect(queryParameters(p)['block-bitmap-mapping']).toEqual([]);
  });

  it('each call returns a fresh object', () => {
    const a = defaultParameters();
    a['downtime-limit'] = 1;
    expect(defaultParameters()['downtime-limit']).toBe(300);
  });
});

describe('applyParameters', () => {
  it('merges a patch into a new object and leaves the current one alone', () => {
    const cur = defaultParameters();
    const next = applyParameters(cur, { 'max-bandwidth': 1000, 'downtime-limit': 2000000, 'tls-creds': 'abc' });
    expect(next['max-bandwidth']).toBe(1000);
    expect(next['downtime-limit']).toBe(2000000);
    expect(next['tls-creds']).toBe('abc');
    expect(cur).toEqual(defaultParameters());
    expect(applyParameters(next, { 'tls-creds': null })['tls-creds']).toBe('');
    expect(applyParameters(cur, {})).toEqual(cur);
    expect(applyParameters(cur, undefined)).toEqual(cur);
  });

  it("takes mig's x-stall-timeout as a uint64 of ms (0 = never), shown by query-migrate-parameters", () => {
    const p = applyParameters(defaultParameters(), { 'x-stall-timeout': 2000 });
    expect(queryParameters(p)['x-stall-timeout']).toBe(2000);
    expect(applyParameters(p, { 'x-stall-timeout': 0 })['x-stall-timeout']).toBe(0);
  });

  // Messages as QEMU 7.2 answered them here, one request each.
  it.each([
    [{ 'downtime-limit': 2000001 }, "Parameter 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000) ms"],
    [{ 'downtime-limit': -1 }, "Parameter 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000) ms"],
    [{ 'xbzrle-cache-size': 1000 }, "Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size"],
    [{ 'xbzrle-cache-size': 1024 }, "Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size"],
    [{ 'xbzrle-cache-size': 12288 }, "Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size"],
    [{ 'xbzrle-cache-size': -1 }, "Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size"],
    [{ 'compress-level': 10 }, "Parameter 'compress_level' expects a value between 0 and 9"],
    [{ 'compress-threads': 0 }, "Parameter 'compress_threads' expects a value between 1 and 255"],
    [{ 'compress-threads': 256 }, "Parameter 'compress-threads' expects uint8_t"],
    [{ 'decompress-threads': 0 }, "Parameter 'decompress_threads' expects a value between 1 and 255"],
    [{ 'throttle-trigger-threshold': 0 }, "Parameter 'throttle_trigger_threshold' expects an integer in the range of 1 to 100"],
    [{ 'throttle-trigger-threshold': 101 }, "Parameter 'throttle_trigger_threshold' expects an integer in the range of 1 to 100"],
    [{ 'cpu-throttle-initial': 0 }, "Parameter 'cpu_throttle_initial' expects an integer in the range of 1 to 99"],
    [{ 'cpu-throttle-initial': 100 }, "Parameter 'cpu_throttle_initial' expects an integer in the range of 1 to 99"],
    [{ 'cpu-throttle-increment': 100 }, "Parameter 'cpu_throttle_increment' expects an integer in the range of 1 to 99"],
    [{ 'max-cpu-throttle': 0 }, "Parameter 'max_cpu_throttle' expects an integer in the range of cpu_throttle_initial to 99"],
    [{ 'max-cpu-throttle': 100 }, "Parameter 'max_cpu_throttle' expects an integer in the range of cpu_throttle_initial to 99"],
    [{ 'cpu-throttle-initial': 50, 'max-cpu-throttle': 40 }, "Parameter 'max_cpu_throttle' expects an integer in the range of cpu_throttle_initial to 99"],
    [{ 'multifd-channels': 0 }, "Parameter 'multifd_channels' expects a value between 1 and 255"],
    [{ 'announce-initial': 100001 }, "Parameter 'announce_initial' expects a value between 0 and 100000"],
    [{ 'announce-max': 100001 }, "Parameter 'announce_max' expects a value between 0 and 100000"],
    [{ 'announce-rounds': 1001 }, "Parameter 'announce_rounds' expects a value between 0 and 1000"],
    [{ 'announce-step': 0 }, "Parameter 'announce_step' expects a value between 0 and 10000"],
    [{ 'announce-step': 10001 }, "Parameter 'announce_step' expects a value between 0 and 10000"],
    [{ 'announce-step': -1 }, "Parameter 'announce_step' expects a value between 0 and 10000"],
    [{ 'x-checkpoint-delay': -1 }, "Parameter 'x-checkpoint-delay' expects uint32_t"],
    [{ 'multifd-compression': 'bogus' }, "Parameter 'multifd-compression' does not accept value 'bogus'"],
    [{ 'multifd-compression': 5 }, "Invalid parameter type for 'multifd-compression', expected: string"],
    [{ bogus: 1 }, "Parameter 'bogus' is unexpected"],
    [{ 'downtime-limit': '1' }, "Parameter 'downtime-limit' expects uint64"],
    [{ 'downtime-limit': null }, "Parameter 'downtime-limit' expects uint64"],
    [{ 'compress-level': -1 }, "Parameter 'compress-level' expects uint8_t"],
    [{ 'max-bandwidth': 1.5 }, "Parameter 'max-bandwidth' expects uint64"],
    [{ 'max-bandwidth': 1e30 }, "Parameter 'max-bandwidth' expects uint64"],
    [{ 'x-stall-timeout': '2000' }, "Parameter 'x-stall-timeout' expects uint64"],
    [{ 'x-stall-timeout': 0.5 }, "Parameter 'x-stall-timeout' expects uint64"],
    [{ 'block-incremental': 1 }, "Invalid parameter type for 'block-incremental', expected: boolean"],
    [{ 'tls-creds': 5 }, "Invalid parameter type for 'tls-creds', expected: StrOrNull"],
    [{ 'block-bitmap-mapping': 5 }, "Invalid parameter type for 'block-bitmap-mapping', expected: array"],
    // the first failing check in QEMU's order wins
    [{ 'downtime-limit': 5, 'compress-level': 50 }, "Parameter 'compress_level' expects a value between 0 and 9"],
  ])('%j → %s', (patch, message) => {
    const cur = defaultParameters();
    const e = err(() => applyParameters(cur, patch));
    expect(e.message).toBe(message);
    expect(e.errorClass).toBe('GenericError');
    expect(cur).toEqual(defaultParameters());
  });

  it('accepts the boundaries QEMU accepts', () => {
    const p = applyParameters(defaultParameters(), {
      'downtime-limit': 0,
      'xbzrle-cache-size': 4096,
      'announce-initial': 0,
      'announce-max': 100000,
      'announce-rounds': 0,
      'announce-step': 1,
      'cpu-throttle-initial': 99,
      'max-cpu-throttle': 99,
      'max-bandwidth': 0,
      'multifd-zstd-level': 20,
    });
    expect(p['xbzrle-cache-size']).toBe(4096);
    expect(applyParameters(p, { 'xbzrle-cache-size': 2 ** 40 })['xbzrle-cache-size']).toBe(2 ** 40);
  });

  it('wraps negative uint64 values as QEMU does (max-bandwidth -1 = SIZE_MAX)', () => {
    expect(applyParameters(defaultParameters(), { 'max-bandwidth': -1 })['max-bandwidth']).toBe(2 ** 64);
  });

  it('checks block-bitmap-mapping members with their paths', () => {
    const bad = [{ 'node-name': 'n', alias: 'a', bitmaps: [{ name: 'b' }] }];
    expect(err(() => applyParameters(defaultParameters(), { 'block-bitmap-mapping': bad })).message).toBe(
      "Parameter 'block-bitmap-mapping[0].bitmaps[0].alias' is missing",
    );
    const good = [{ 'node-name': 'n', alias: 'a', bitmaps: [{ name: 'b', alias: 'c', transform: { persistent: true } }] }];
    const p = applyParameters(defaultParameters(), { 'block-bitmap-mapping': good });
    good[0]!.alias = 'changed';
    expect(p['block-bitmap-mapping']?.[0]?.alias).toBe('a');
  });

  it('parseSetParameters and the zod schema agree on a valid patch', () => {
    const patch = { 'max-bandwidth': 5, 'tls-hostname': null, 'multifd-compression': 'zstd' };
    expect(parseSetParameters(patch)).toEqual(patch);
    expect(migrateSetParametersSchema.parse(patch)).toEqual(patch);
    expect(() => parseSetParameters([1])).toThrow(ParameterError);
  });
});

describe('legacy commands', () => {
  it('migrate_set_speed sets max-bandwidth in bytes/s, clamped as QEMU 2.0 did', () => {
    const cur = defaultParameters();
    expect(legacySetSpeed(cur, 1048576)['max-bandwidth']).toBe(1048576);
    expect(legacySetSpeed(cur, -5)['max-bandwidth']).toBe(0);
    expect(legacySetSpeed(cur, 1e30)['max-bandwidth']).toBe(2 ** 64);
    expect(cur['max-bandwidth']).toBe(33554432);
    expect(() => legacySetSpeed(cur, 'fast')).toThrow("Invalid parameter type for 'value', expected: number");
  });

  it('migrate_set_downtime converts seconds to ms within 0..2000 s', () => {
    const cur = defaultParameters();
    expect(legacySetDowntime(cur, 0.5)['downtime-limit']).toBe(500);
    expect(legacySetDowntime(cur, 0.0301)['downtime-limit']).toBe(30);
    expect(legacySetDowntime(cur, 2000)['downtime-limit']).toBe(2000000);
    for (const bad of [-0.1, 2000.5, Number.POSITIVE_INFINITY]) {
      expect(() => legacySetDowntime(cur, bad)).toThrow(
        "Parameter 'downtime_limit' expects an integer in the range of 0 to 2000 seconds",
      );
    }
  });

  it('migrate-set-cache-size rounds down to a power of two, as QEMU 2.0 did', () => {
    const cur = defaultParameters();
    expect(legacySetCacheSize(cur, 100 * 1024 * 1024)['xbzrle-cache-size']).toBe(64 * 1024 * 1024);
    expect(legacySetCacheSize(cur, 4096)['xbzrle-cache-size']).toBe(4096);
    expect(legacySetCacheSize(cur, 2 ** 53 - 1)['xbzrle-cache-size']).toBe(2 ** 52);
    expect(() => legacySetCacheSize(cur, 4095)).toThrow("Parameter 'cache size' expects is smaller than page size");
    expect(() => legacySetCacheSize(cur, 2 ** 27, { guestRamBytes: 2 ** 26 })).toThrow(
      "Parameter 'cache size' expects exceeds guest ram size",
    );
    expect(legacyQueryCacheSize(legacySetCacheSize(cur, 8192))).toBe(8192);
  });
});
