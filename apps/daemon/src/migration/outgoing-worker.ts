// The source's migration thread: the seed's precopy loop (@mig/core) over the savevm saver (@mig/ram) and a
// transport (@mig/transports). The guest's run state stays on the main thread: switchover asks for it.
import { parentPort, workerData } from 'node:worker_threads';
import { MigrationStateMachine, runPrecopy, statsView, type MigrationParameters } from '@mig/core';
import { DirtyBitmap, PAGE_SIZE, type RamSaveSection } from '@mig/ram';
import { openOutgoing, parseMigrationUri } from '@mig/transports';
import type { FromOutgoingWorker, OutgoingWorkerData, ToOutgoingWorker } from './protocol.js';
import { outgoingSections } from './sections.js';
import { guestRamInWorker } from './worker-ram.js';

const data = workerData as OutgoingWorkerData;
const port = parentPort!;
const post = (message: FromOutgoingWorker): void => port.postMessage(message);

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

async function run(): Promise<FromOutgoingWorker> {
  const stats = statsView(data.stats);
  const state = new MigrationStateMachine();
  state.onChange((change) => post({ type: 'status', status: change.to }));
  state.transition('none', 'setup');
  const ram = guestRamInWorker(data.ram);
  // the guest's shared bitmaps: its writers (workload, x-mig-write) set the bits this saver harvests
  const dirty = ram.blocks.map((b, i) => new DirtyBitmap(b.usedLength / PAGE_SIZE, data.dirty?.[i]));
  const { saver, ram: ramSection } = outgoingSections({
    machine: data.machine, ram, dirty,
    ...(data.capabilities.xbzrle ? { xbzrleCacheBytes: parameters['xbzrle-cache-size'] } : {}),
  });
  activeRam = ramSection;
  let sink;
  try {
    sink = await openOutgoing(parseMigrationUri(data.uri));
  } catch (err) {
    state.transition('setup', 'failed');
    return { type: 'done', status: 'failed', error: `cannot open the migration stream to ${data.uri}: ${(err as Error).message}` };
  }
  if (abort.signal.aborted) {
    sink.destroy();
    state.transition('setup', 'cancelling');
    state.transition('cancelling', 'cancelled');
    return { type: 'done', status: 'cancelled' };
  }
  const result = await runPrecopy({
    saver,
    sink,
    state,
    stats,
    params: () => parameters,
    signal: abort.signal,
    totalBytes: ram.totalBytes,
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
      s.normal = ramSection.normalPages;
      s.duplicate = ramSection.zeroPages;
      const x = ramSection.xbzrleStats;
      if (x) {
        s.xbzrleBytes = x.bytes;
        s.xbzrlePages = x.pages;
        s.xbzrleCacheMiss = x['cache-miss'];
        s.xbzrleCacheMissRate = x['cache-miss-rate'];
        s.xbzrleEncodingRate = x['encoding-rate'];
        s.xbzrleOverflow = x.overflow;
      }
    },
  });
  if (result.status === 'failed') return { type: 'done', status: 'failed', error: result.errorDesc ?? 'migration failed' };
  return { type: 'done', status: result.status };
}

run().then(post, (err: unknown) => {
  post({ type: 'done', status: 'failed', error: `migration failed: ${err instanceof Error ? err.message : String(err)}` });
});
