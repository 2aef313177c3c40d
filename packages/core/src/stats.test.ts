import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { StatsBufferError } from './errors.js';
import {
  STATS_BYTE_LENGTH,
  STAT_INDEX,
  STAT_KEYS,
  buildQueryMigrate,
  createSharedStats,
  createStats,
  snapshotStats,
  statsView,
} from './stats.js';

// Replies of qemu-system-x86_64 7.2 here (-machine none -m 64M, migrate to exec:cat > /dev/null); in the
// active one expected-downtime is the downtime-limit at start, 300 here (that run had set 2000000).
const QEMU_ACTIVE = JSON.parse(
  '{"expected-downtime": 300, "status": "active", "setup-time": 0, "total-time": 4, "ram": {"total": 67108864, "postcopy-requests": 0, "dirty-sync-count": 1, "multifd-bytes": 0, "pages-per-second": 0, "downtime-bytes": 1633, "page-size": 4096, "remaining": 66363392, "postcopy-bytes": 0, "mbps": 0, "transferred": 1633, "dirty-sync-missed-zero-copy": 0, "precopy-bytes": 0, "duplicate": 181, "dirty-pages-rate": 0, "skipped": 0, "normal-bytes": 0, "normal": 0}}',
);
const QEMU_COMPLETED_XBZRLE = JSON.parse(
  '{"xbzrle-cache": {"encoding-rate": 0, "bytes": 0, "cache-size": 67108864, "cache-miss-rate": 0, "pages": 0, "overflow": 0, "cache-miss": 0}, "status": "completed", "setup-time": 0, "downtime": 0, "total-time": 8, "ram": {"total": 67108864, "postcopy-requests": 0, "dirty-sync-count": 2, "multifd-bytes": 0, "pages-per-second": 0, "downtime-bytes": 147468, "page-size": 4096, "remaining": 0, "postcopy-bytes": 0, "mbps": 148.237, "transferred": 147468, "dirty-sync-missed-zero-copy": 0, "precopy-bytes": 0, "duplicate": 16384, "dirty-pages-rate": 0, "skipped": 0, "normal-bytes": 0, "normal": 0}}',
);

describe('stats storage', () => {
  it('a plain record has every key, zeroed, with the target page size', () => {
    const s = createStats();
    expect(Object.keys(s)).toEqual([...STAT_KEYS]);
    expect(s.pageSize).toBe(4096);
    expect(s.transferred).toBe(0);
  });

  it('views of one buffer share their counters, at the documented indexes', () => {
    const { buffer, stats } = createSharedStats();
    const other = statsView(buffer);
    stats.transferred = 12345;
    stats.mbps = 1.5;
    expect(other.transferred).toBe(12345);
    expect(other.mbps).toBe(1.5);
    expect(new Float64Array(buffer)[STAT_INDEX.transferred]).toBe(12345);
    expect(other.pageSize).toBe(4096);
    expect(snapshotStats(other)).toEqual({ ...createStats(), transferred: 12345, mbps: 1.5 });
  });

  it('a worker thread updates what this thread reads', async () => {
    const { buffer, stats } = createSharedStats();
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const f = new Float64Array(workerData.buffer);
      f[workerData.index] = 987654321;
      parentPort.postMessage('done');`;
    const w = new Worker(code, { eval: true, workerData: { buffer, index: STAT_INDEX.transferred } });
    await new Promise<void>((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
    });
    await w.terminate();
    expect(stats.transferred).toBe(987654321);
  });

  it('refuses a buffer that is too small, misaligned or not a buffer', () => {
    expect(() => statsView(new ArrayBuffer(STATS_BYTE_LENGTH - 8))).toThrow(StatsBufferError);
    expect(() => statsView(new ArrayBuffer(STATS_BYTE_LENGTH - 8))).toThrow(/needs \d+/);
    expect(() => statsView(new ArrayBuffer(STATS_BYTE_LENGTH + 8), 4)).toThrow(/offset 4/);
    expect(() => statsView(new Uint8Array(8) as never)).toThrow(/ArrayBuffer or SharedArrayBuffer/);
    const big = new ArrayBuffer(STATS_BYTE_LENGTH + 16);
    statsView(big, 16).downtime = 7;
    expect(new Float64Array(big)[2 + STAT_INDEX.downtime]).toBe(7);
  });
});

describe('buildQueryMigrate', () => {
  const base = () => {
    const s = createStats();
    s.startTime = 1000;
    s.setupTime = 0;
    s.total = 67108864;
    s.remaining = 66363392;
    s.transferred = 1633;
    s.downtimeBytes = 1633;
    s.duplicate = 181;
    s.dirtySyncCount = 1;
    s.expectedDowntime = 300;
    return s;
  };

  it("'none' is {} (with blocked-reasons when there are blockers)", () => {
    expect(buildQueryMigrate({ status: 'none', stats: createStats(), now: 0 })).toEqual({});
    expect(buildQueryMigrate({ status: 'none', stats: createStats(), now: 0, blockedReasons: ['x'] })).toEqual({
      'blocked-reasons': ['x'],
    });
  });

  it("'setup' is the status alone", () => {
    expect(buildQueryMigrate({ status: 'setup', stats: base(), now: 5 })).toEqual({ status: 'setup' });
  });

  it("'active' has the same members and figures as QEMU 7.2's", () => {
    const reply = buildQueryMigrate({ status: 'active', stats: base(), now: 1004 });
    expect(reply).toEqual(QEMU_ACTIVE);
    expect(Object.keys(reply)).toEqual(['status', 'ram', 'total-time', 'expected-downtime', 'setup-time']);
    const c = buildQueryMigrate({ status: 'cancelling', stats: base(), now: 1004 });
    expect(c).toEqual({ ...QEMU_ACTIVE, status: 'cancelling' });
  });

  it("'completed' has downtime instead of expected-downtime, remaining 0, and xbzrle-cache when on", () => {
    const s = base();
    s.transferred = s.downtimeBytes = 147468;
    s.duplicate = 16384;
    s.dirtySyncCount = 2;
    s.totalTime = 8;
    s.downtime = 0;
    s.mbps = 148.237;
    s.dirtyPagesRate = 55; // not shown once completed
    const reply = buildQueryMigrate({
      status: 'completed', stats: s, now: 99999, caps: { xbzrle: true }, params: { 'xbzrle-cache-size': 67108864 },
    });
    expect(reply).toEqual(QEMU_COMPLETED_XBZRLE);
  });

  it('integers are integers; normal-bytes is normal × page size; disk and throttle appear when active', () => {
    const s = base();
    s.normal = 10;
    s.pagesPerSecond = 123.7;
    s.expectedDowntime = 41.9;
    s.cpuThrottlePercentage = 20;
    s.diskTotal = 100;
    s.diskTransferred = 40;
    s.diskRemaining = 60;
    const r = buildQueryMigrate({ status: 'active', stats: s, now: 1010.6, diskActive: true });
    expect(r.ram?.['normal-bytes']).toBe(40960);
    expect(r.ram?.['pages-per-second']).toBe(123);
    expect(r['expected-downtime']).toBe(41);
    expect(r['total-time']).toBe(10);
    expect(r['cpu-throttle-percentage']).toBe(20);
    expect(r.disk).toMatchObject({ transferred: 40, remaining: 60, total: 100, 'page-size': 0 });
  });

  it("'failed' has error-desc when known; 'cancelled' only the status", () => {
    expect(buildQueryMigrate({ status: 'failed', stats: base(), now: 0, errorDesc: 'migration stream write failed: EPIPE' }))
      .toEqual({ status: 'failed', 'error-desc': 'migration stream write failed: EPIPE' });
    expect(buildQueryMigrate({ status: 'failed', stats: base(), now: 0 })).toEqual({ status: 'failed' });
    expect(buildQueryMigrate({ status: 'cancelled', stats: base(), now: 0, errorDesc: 'x' })).toEqual({ status: 'cancelled' });
  });

  it('on a target: socket-address while listening, then the incoming status (as QEMU 7.2 answers)', () => {
    const addr = [{ port: '42649', ipv4: true, host: '127.0.0.1', type: 'inet' }];
    expect(buildQueryMigrate({ status: 'none', stats: createStats(), now: 0, incoming: { status: 'setup', socketAddress: addr } }))
      .toEqual({ 'socket-address': addr });
    expect(buildQueryMigrate({ status: 'none', stats: createStats(), now: 0, incoming: { status: 'completed' } }))
      .toEqual({ status: 'completed' });
    // an outgoing migration's status wins over the incoming one
    expect(buildQueryMigrate({ status: 'setup', stats: createStats(), now: 0, incoming: { status: 'completed' } }))
      .toEqual({ status: 'setup' });
  });

  it('takes xbzrle figures from the caller when given', () => {
    const x = { 'cache-size': 4096, bytes: 1, pages: 2, 'cache-miss': 3, 'cache-miss-rate': 0.5, 'encoding-rate': 2.5, overflow: 4 };
    expect(buildQueryMigrate({ status: 'active', stats: base(), now: 1000, caps: { xbzrle: true }, xbzrleCache: x })['xbzrle-cache'])
      .toEqual(x);
  });
});
