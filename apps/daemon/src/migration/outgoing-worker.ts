// The source's migration thread: the seed's precopy loop (@mig/core) over the savevm saver (@mig/savevm) and a
// transport (@mig/transports). The guest's run state stays on the main thread: switchover asks for it.
import { parentPort, workerData } from 'node:worker_threads';
import {
  connectStallError, encodeError, errorMessage, MigrationCancelledError, MigrationFailedError, realTimer, runPrecopy,
  statsView, type MigrationParameters, type MigrationStats,
} from '@mig/core';
import type { BlockSaveSection } from '@mig/block';
import { DirtyBitmap, PAGE_SIZE, type GuestRam, type RamSaveSection } from '@mig/ram';
import { openOutgoing, TransportError, type WritableSink } from '@mig/transports';
import type { FromOutgoingWorker, OutgoingWorkerData, ToOutgoingWorker } from './protocol.js';
import { outgoingSections } from './sections.js';
import { workerDescriptors } from './transport-uri.js';
import { guestRamInWorker, transportRam } from './worker-ram.js';
import { WorkerStatusReporter } from './worker-status.js';

const data = workerData as OutgoingWorkerData;
const port = parentPort!;
const post = (message: FromOutgoingWorker): void => port.postMessage(message);
// the main thread has moved the migration to setup before starting this worker
const status = new WorkerStatusReporter({ direction: 'outgoing', initial: 'setup' }, post);

let parameters = data.parameters as unknown as MigrationParameters;
const abort = new AbortController();
let guestStopped: ((runstate: string) => void) | undefined;
/** The migration's ram section, once made (a cache resize goes to it). */
let activeRam: RamSaveSection | undefined;

port.on('message', (message: ToOutgoingWorker) => {
  switch (message.type) {
    case 'set-parameters':
      parameters = message.parameters as unknown as MigrationParameters;
      // xbzrle_cache_resize: the main thread has checked the size as QEMU does
      if (activeRam?.xbzrleEnabled) activeRam.resizeXbzrleCache(parameters['xbzrle-cache-size']);
      break;
    case 'cancel':
      abort.abort();
      break;
    case 'guest-stopped':
      guestStopped?.(message.runstate);
      guestStopped = undefined;
      break;
  }
});

/**
 * Opens the transport; migrate_cancel drops a connect still under way, and so does x-stall-timeout (a target
 * that never answers the connect, e.g. a blackholed link), failing it with a message saying so.
 */
async function openSink(ram: GuestRam): Promise<WritableSink> {
  const connecting = new AbortController();
  const onCancel = (): void => connecting.abort(new MigrationCancelledError());
  abort.signal.addEventListener('abort', onCancel, { once: true });
  if (abort.signal.aborted) onCancel();
  const timeout = parameters['x-stall-timeout'];
  const disarm = timeout > 0 ? realTimer(() => connecting.abort(connectStallError(timeout)), timeout) : undefined;
  try {
    return await openOutgoing(data.transport.uri, {
      ...workerDescriptors(data.transport), rdmaPinAll: data.capabilities['rdma-pin-all'] === true, signal: connecting.signal,
      ...transportRam(data.transport.uri, ram),
    });
  } finally {
    disarm?.();
    abort.signal.removeEventListener('abort', onCancel);
  }
}

async function run(): Promise<FromOutgoingWorker> {
  const state = status.state;
  const ram = guestRamInWorker(data.ram);
  // the guest's shared bitmaps: its writers (workload, x-mig-write) set the bits this saver harvests
  const dirty = ram.blocks.map((b, i) => new DirtyBitmap(b.usedLength / PAGE_SIZE, data.dirty?.[i]));
  let sink;
  try {
    sink = await openSink(ram);
  } catch (err) {
    if (abort.signal.aborted) return { type: 'done', ...status.finish('cancelled') };
    if (err instanceof MigrationFailedError) return { type: 'done', ...status.finish('failed'), error: encodeError(err) };
    // a TransportError names the URI and the system error already
    const why = err instanceof TransportError ? err.message : `cannot open the migration stream to ${data.uri}: ${errorMessage(err)}`;
    const error = new MigrationFailedError('open', why, { cause: err });
    return { type: 'done', ...status.finish('failed'), error: encodeError(error) };
  }
  if (abort.signal.aborted) {
    sink.destroy();
    return { type: 'done', ...status.finish('cancelled') };
  }
  const b = data.block;
  // over rdma the transport's hook takes every page (RDMA WRITE); the stream gets HOOK records instead
  const { saver, ram: ramSection, block } = outgoingSections({
    machine: data.machine, ram, dirty,
    ...(data.capabilities.xbzrle ? { xbzrleCacheBytes: parameters['xbzrle-cache-size'] } : {}),
    ...(b ? { block: { drives: b.drives, port: b.drivePort, incremental: b.incremental, zeroBlocks: b.zeroBlocks } } : {}),
    ...(sink.ramControl === undefined ? {} : { ramControl: sink.ramControl }),
  });
  activeRam = ramSection;
  const result = await runPrecopy({
    saver,
    sink,
    state,
    stats: statsView(data.stats),
    params: () => parameters,
    signal: abort.signal,
    totalBytes: ram.totalBytes + (block?.totalBytes ?? 0),
    stopGuest: () =>
      new Promise<string>((resolve) => {
        guestStopped = resolve;
        post({ type: 'stop-guest' });
      }),
    resumeGuest: () => post({ type: 'resume-guest' }),
    onPass: (pass) => post({ type: 'pass', pass }),
    autoConverge: data.capabilities['auto-converge'] === true,
    setThrottle: (percent) => post({ type: 'throttle', percent }),
    onSync: (info) => post({ type: 'sync', info }),
    onProgress: (s) => {
      copyRamCounters(ramSection, s);
      if (block) copyBlockCounters(block, ramSection, s);
    },
  });
  if (result.status !== 'completed') await block?.drain(); // reads in flight settle before the drives are let go
  if (result.status !== 'failed') return { type: 'done', ...status.finish(result.status) };
  const error = result.error ?? new MigrationFailedError('internal', result.errorDesc ?? 'migration failed');
  return { type: 'done', ...status.finish('failed'), error: encodeError(error) };
}

/** query-migrate's `disk` (QEMU fills transferred, remaining, total) and RAM's own remaining beside it. */
function copyBlockCounters(block: BlockSaveSection, ram: RamSaveSection, s: MigrationStats): void {
  s.diskTotal = block.totalBytes;
  s.diskTransferred = block.transferredBytes;
  s.diskRemaining = block.remainingBytes;
  s.remaining = ram.remainingBytes; // the loop's figure is what both sections have pending
}

/** The ram section's page counters into the shared stats query-migrate reads. */
function copyRamCounters(ram: RamSaveSection, s: MigrationStats): void {
  s.normal = ram.normalPages;
  s.duplicate = ram.zeroPages;
  const x = ram.xbzrleStats;
  if (x) {
    s.xbzrleBytes = x.bytes;
    s.xbzrlePages = x.pages;
    s.xbzrleCacheMiss = x['cache-miss'];
    s.xbzrleCacheMissRate = x['cache-miss-rate'];
    s.xbzrleEncodingRate = x['encoding-rate'];
    s.xbzrleOverflow = x.overflow;
  }
}

run().then(post, (err: unknown) => {
  const error = new MigrationFailedError('internal', `migration failed: ${errorMessage(err)}`, { cause: err });
  post({ type: 'done', ...status.finish('failed'), error: encodeError(error) });
});
