import { StatsBufferError } from './errors.js';
import type { MigrationCapabilities } from './capabilities.js';
import type { MigrationParameters } from './params.js';
import { TARGET_PAGE_SIZE } from './params.js';
import type { MigrationStatus } from './status.js';

/**
 * The counters of one outgoing migration, as numbers (QEMU's ram_counters, xbzrle_counters and the
 * MigrationState times). Times are ms: `startTime`/`downtimeStart` on the clock runPrecopy was given,
 * the others durations. Either a plain object (createStats) or a view over a Float64Array in a
 * SharedArrayBuffer (createSharedStats / statsView) so a worker thread can update what the main thread reads.
 */
export const STAT_KEYS = [
  'transferred', 'total', 'duplicate', 'skipped', 'normal', 'dirtyPagesRate', 'dirtySyncCount', 'pageSize',
  'pagesPerSecond', 'mbps', 'remaining', 'precopyBytes', 'downtimeBytes', 'postcopyBytes', 'multifdBytes',
  'postcopyRequests', 'dirtySyncMissedZeroCopy',
  'startTime', 'setupTime', 'totalTime', 'expectedDowntime', 'downtime', 'downtimeStart',
  'xbzrleBytes', 'xbzrlePages', 'xbzrleCacheMiss', 'xbzrleCacheMissRate', 'xbzrleEncodingRate', 'xbzrleOverflow',
  'diskTransferred', 'diskRemaining', 'diskTotal',
  'cpuThrottlePercentage',
] as const;
export type StatKey = (typeof STAT_KEYS)[number];
export type MigrationStats = Record<StatKey, number>;

/** Index of each counter in the Float64Array layout. */
export const STAT_INDEX = Object.fromEntries(STAT_KEYS.map((k, i) => [k, i])) as Readonly<Record<StatKey, number>>;
/** Bytes a shared stats buffer needs. */
export const STATS_BYTE_LENGTH = STAT_KEYS.length * Float64Array.BYTES_PER_ELEMENT;

/** Sets every counter to 0 and the page size to the target's (QEMU resets the counters per migration). */
export function resetStats(stats: MigrationStats): MigrationStats {
  for (const k of STAT_KEYS) stats[k] = 0;
  stats.pageSize = TARGET_PAGE_SIZE;
  return stats;
}

/** A plain-object stats record, zeroed. */
export function createStats(): MigrationStats {
  return resetStats({} as MigrationStats);
}

/**
 * A stats object whose counters live in `buffer` (a Float64Array layout of STAT_KEYS). Reads and writes go
 * straight to the buffer, so another thread with a view of the same SharedArrayBuffer sees them.
 */
export function statsView(buffer: SharedArrayBuffer | ArrayBuffer, byteOffset = 0): MigrationStats {
  const isBuffer =
    buffer instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer);
  if (!isBuffer) throw new StatsBufferError(`stats buffer must be an ArrayBuffer or SharedArrayBuffer`);
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % 8 !== 0) {
    throw new StatsBufferError(`stats buffer offset ${byteOffset} is not a non-negative multiple of 8`);
  }
  if (buffer.byteLength - byteOffset < STATS_BYTE_LENGTH) {
    throw new StatsBufferError(
      `stats buffer has ${buffer.byteLength - byteOffset} bytes from offset ${byteOffset}, needs ${STATS_BYTE_LENGTH}`,
    );
  }
  const f64 = new Float64Array(buffer, byteOffset, STAT_KEYS.length);
  const view = {} as MigrationStats;
  STAT_KEYS.forEach((k, i) => {
    Object.defineProperty(view, k, {
      enumerable: true,
      get: () => f64[i]!,
      set: (v: number) => {
        f64[i] = v;
      },
    });
  });
  return view;
}

/** A zeroed stats record in a new SharedArrayBuffer; send `buffer` to another thread and statsView() it. */
export function createSharedStats(): { buffer: SharedArrayBuffer; stats: MigrationStats } {
  const buffer = new SharedArrayBuffer(STATS_BYTE_LENGTH);
  const stats = resetStats(statsView(buffer));
  return { buffer, stats };
}

/** A plain copy of any stats record. */
export function snapshotStats(stats: MigrationStats): MigrationStats {
  const out = {} as MigrationStats;
  for (const k of STAT_KEYS) out[k] = stats[k];
  return out;
}

/** QEMU 7.2's MigrationStats (the `ram` and `disk` members of query-migrate). */
export interface QueryMigrateRam {
  transferred: number;
  remaining: number;
  total: number;
  duplicate: number;
  skipped: number;
  normal: number;
  'normal-bytes': number;
  'dirty-pages-rate': number;
  mbps: number;
  'dirty-sync-count': number;
  'postcopy-requests': number;
  'page-size': number;
  'multifd-bytes': number;
  'pages-per-second': number;
  'precopy-bytes': number;
  'downtime-bytes': number;
  'postcopy-bytes': number;
  'dirty-sync-missed-zero-copy': number;
}

export interface QueryMigrateXbzrleCache {
  'cache-size': number;
  bytes: number;
  pages: number;
  'cache-miss': number;
  'cache-miss-rate': number;
  'encoding-rate': number;
  overflow: number;
}

/** The source side of QEMU 7.2's MigrationInfo (the `query-migrate` reply), members in QEMU's order. */
export interface QueryMigrateReply {
  status?: MigrationStatus;
  ram?: QueryMigrateRam;
  disk?: QueryMigrateRam;
  'xbzrle-cache'?: QueryMigrateXbzrleCache;
  'total-time'?: number;
  'expected-downtime'?: number;
  downtime?: number;
  'setup-time'?: number;
  'cpu-throttle-percentage'?: number;
  'error-desc'?: string;
  'blocked-reasons'?: string[];
  'socket-address'?: unknown[];
}

/** The incoming side of this process, for the `query-migrate` of a migration target. */
export interface IncomingQueryInfo {
  /** The incoming migration's state. */
  status: MigrationStatus;
  /** Where it listens, as QEMU's SocketAddress list (e.g. {type:'inet', host, port, ipv4} or {type:'unix', path}). */
  socketAddress?: readonly unknown[];
}

export interface QueryMigrateInput {
  status: MigrationStatus;
  stats: MigrationStats;
  /** For xbzrle-cache.cache-size. */
  params?: Pick<MigrationParameters, 'xbzrle-cache-size'>;
  /** xbzrle-cache appears when caps.xbzrle is on. */
  caps?: Pick<MigrationCapabilities, 'xbzrle'>;
  /** The failure's description; shown only in state 'failed'. */
  errorDesc?: string;
  /** Now, on the same clock as stats.startTime (total-time of a running migration). */
  now: number;
  /** Registered blockers (shown in every state, 'none' included, when there are any). */
  blockedReasons?: readonly string[];
  /** A block migration runs: `disk` appears while active/cancelling. */
  diskActive?: boolean;
  /** Use these xbzrle figures instead of the stats' xbzrle* counters (e.g. @mig/ram's encoder stats). */
  xbzrleCache?: QueryMigrateXbzrleCache;
  /**
   * On a target: the incoming migration. Its socket-address is listed; its status shows while no outgoing
   * migration ever ran, except 'setup' (QEMU 7.2 lists only socket-address while it waits for the source).
   */
  incoming?: IncomingQueryInfo;
}

const int = (v: number) => (Number.isFinite(v) ? Math.trunc(v) : 0);

function ramInfo(s: MigrationStats, completed: boolean): QueryMigrateRam {
  const pageSize = int(s.pageSize) || TARGET_PAGE_SIZE;
  return {
    transferred: int(s.transferred),
    remaining: completed ? 0 : int(s.remaining),
    total: int(s.total),
    duplicate: int(s.duplicate),
    skipped: 0, // QEMU: "legacy value. It is not used anymore"
    normal: int(s.normal),
    'normal-bytes': int(s.normal) * pageSize,
    'dirty-pages-rate': completed ? 0 : int(s.dirtyPagesRate),
    mbps: Number.isFinite(s.mbps) ? s.mbps : 0,
    'dirty-sync-count': int(s.dirtySyncCount),
    'postcopy-requests': int(s.postcopyRequests),
    'page-size': pageSize,
    'multifd-bytes': int(s.multifdBytes),
    'pages-per-second': int(s.pagesPerSecond),
    'precopy-bytes': int(s.precopyBytes),
    'downtime-bytes': int(s.downtimeBytes),
    'postcopy-bytes': int(s.postcopyBytes),
    'dirty-sync-missed-zero-copy': int(s.dirtySyncMissedZeroCopy),
  };
}

function diskInfo(s: MigrationStats): QueryMigrateRam {
  const zero = ramInfo(createStats(), false);
  return {
    ...zero,
    'page-size': 0,
    transferred: int(s.diskTransferred),
    remaining: int(s.diskRemaining),
    total: int(s.diskTotal),
  };
}

/**
 * The `query-migrate` reply for the outgoing side, as QEMU 7.2's fill_source_migration_info builds it:
 * - none: {} (only blocked-reasons if any);
 * - setup: status only;
 * - active, cancelling: status, ram, disk (block migration), xbzrle-cache (capability on), total-time
 *   (so far), expected-downtime, setup-time, cpu-throttle-percentage (when throttling);
 * - completed: status, ram (remaining and dirty-pages-rate 0), xbzrle-cache, total-time, downtime,
 *   setup-time;
 * - failed: status and error-desc when known; cancelled: status.
 */
export function buildQueryMigrate(input: QueryMigrateInput): QueryMigrateReply {
  const { status, stats: s } = input;
  const reply: QueryMigrateReply = {};
  const inc = input.incoming;
  if (status === 'none' && inc && inc.status !== 'none' && inc.status !== 'setup') reply.status = inc.status;
  const running = status === 'active' || status === 'cancelling';
  const completed = status === 'completed';
  if (status !== 'none') reply.status = status;
  if (running || completed) {
    reply.ram = ramInfo(s, completed);
    if (running && input.diskActive) reply.disk = diskInfo(s);
    if (input.caps?.xbzrle) {
      reply['xbzrle-cache'] = input.xbzrleCache
        ? { ...input.xbzrleCache }
        : {
            'cache-size': int(input.params?.['xbzrle-cache-size'] ?? 0),
            bytes: int(s.xbzrleBytes),
            pages: int(s.xbzrlePages),
            'cache-miss': int(s.xbzrleCacheMiss),
            'cache-miss-rate': Number.isFinite(s.xbzrleCacheMissRate) ? s.xbzrleCacheMissRate : 0,
            'encoding-rate': Number.isFinite(s.xbzrleEncodingRate) ? s.xbzrleEncodingRate : 0,
            overflow: int(s.xbzrleOverflow),
          };
    }
    if (completed) {
      reply['total-time'] = int(s.totalTime);
      reply.downtime = int(s.downtime);
    } else {
      reply['total-time'] = int(input.now - s.startTime);
      reply['expected-downtime'] = int(s.expectedDowntime);
    }
    reply['setup-time'] = int(s.setupTime);
    if (s.cpuThrottlePercentage > 0) reply['cpu-throttle-percentage'] = int(s.cpuThrottlePercentage);
  }
  if (status === 'failed' && input.errorDesc !== undefined) reply['error-desc'] = input.errorDesc;
  if (input.blockedReasons && input.blockedReasons.length > 0) reply['blocked-reasons'] = [...input.blockedReasons];
  if (inc?.socketAddress) reply['socket-address'] = structuredClone([...inc.socketAddress]);
  return reply;
}
