// The target's stream loop, off the QMP thread: accept one connection, feed every chunk to the loader, and
// report `completed` only after the whole stream (through EOF) has been read and applied. The main thread
// has moved the migration to setup before this starts; the worker's machine starts there.
import { parentPort, workerData } from 'node:worker_threads';
import { encodeError, stallError, StallWatch } from '@mig/core';
import type { GuestRam } from '@mig/ram';
import { listenIncoming, type ByteSource, type ReadableSource, type TransportListener } from '@mig/transports';
import type { FromIncomingWorker, IncomingWorkerData, ToIncomingWorker } from './protocol.js';
import { WorkerStatusReporter } from './worker-status.js';
import { incomingSections } from './sections.js';
import { workerDescriptors } from './transport-uri.js';
import { guestRamInWorker, transportRam } from './worker-ram.js';

const data = workerData as IncomingWorkerData;
const port = parentPort!;
const post = (message: FromIncomingWorker): void => port.postMessage(message);
const status = new WorkerStatusReporter({ direction: 'incoming', initial: 'setup' }, post);
const state = status.state;

class IncomingCancelledError extends Error {
  override readonly name = 'IncomingCancelledError';
  constructor() {
    super('incoming migration cancelled');
  }
}

let listener: TransportListener | undefined;
let source: ByteSource | undefined;
port.on('message', (message: ToIncomingWorker) => {
  if (message.type !== 'cancel') return;
  const now = state.status;
  if (now === 'setup' || now === 'active') state.transition(now, 'cancelling');
  // a waiting accept() ends when its listener closes; a stream being read ends when it is destroyed
  void listener?.close();
  source?.destroy(new IncomingCancelledError());
});

const cancelled = (): boolean => state.status === 'cancelling';

/** What the load loop shows the stall watch: bytes taken from the source, and whether it waits for more. */
const reading = { bytes: 0, waiting: false };

/**
 * x-stall-timeout on the target: a source that sends nothing for that long while the loop waits for data
 * fails the load (the guest is never started). Time spent on this side's own disk writes does not count.
 */
function watchSource(stream: ByteSource): StallWatch {
  const watch = new StallWatch({
    probe: { progress: () => reading.bytes, waiting: () => reading.waiting },
    timeoutMs: () => data.stallTimeoutMs,
    onStall: (idleMs, timeoutMs) => stream.destroy(stallError('source', idleMs, timeoutMs)),
  });
  watch.start();
  return watch;
}

async function accept(ram: GuestRam): Promise<ReadableSource> {
  listener = await listenIncoming(data.transport.uri, {
    ...workerDescriptors(data.transport),
    ...transportRam(data.transport.uri, ram),
    onTlsRefused: (err) => post({ type: 'tls-refused', message: err.message }),
  });
  post(listener.address === undefined ? { type: 'listening' } : { type: 'listening', address: listener.address });
  try {
    if (cancelled()) throw new IncomingCancelledError();
    return await listener.accept();
  } finally {
    await listener.close();
  }
}

async function run(): Promise<FromIncomingWorker> {
  const ram = guestRamInWorker(data.ram);
  const accepted = await accept(ram);
  source = accepted;
  if (!state.transition('setup', 'active')) throw new IncomingCancelledError();
  const b = data.block;
  const { reader: loader, globalstate } = incomingSections({
    machine: data.machine, ram, ...(b ? { block: { drives: b.drives, port: b.drivePort } } : {}),
    // over rdma the pages land by RDMA WRITE; the stream's HOOK records run the transport's registration
    ...(accepted.ramControl === undefined ? {} : { ramControl: accepted.ramControl }),
  });
  const counters = new Float64Array(data.stats);
  const stall = watchSource(source);
  try {
    reading.waiting = true;
    for await (const chunk of source) {
      reading.waiting = false;
      loader.push(chunk);
      counters[0] = reading.bytes = loader.bytesReceived;
      const wait = loader.backpressure(); // disk writes in flight at their bound: the stream waits
      if (wait) await wait;
      reading.waiting = true;
    }
  } finally {
    reading.waiting = false;
    stall.stop();
  }
  loader.end();
  await loader.flush(); // every disk write done and durable before the load counts as complete
  const runstate = globalstate.runstate;
  // a cancel that lands after the last byte still wins (the main thread shows cancelling already)
  const end = status.finish('completed');
  return { type: 'done', ...end, ...(runstate === undefined ? {} : { runstate }) };
}

run().then(post, (err: unknown) => {
  const end = status.finish(cancelled() ? 'cancelled' : 'failed');
  post({ type: 'done', ...end, error: encodeError(err) });
});
