// The target's stream loop, off the QMP thread: accept one connection, feed every chunk to the loader, and
// report `completed` only after the whole stream (through EOF) has been read and applied.
import { parentPort, workerData } from 'node:worker_threads';
import { listenIncoming, parseMigrationUri, type ByteSource } from '@mig/transports';
import type { FromIncomingWorker, IncomingWorkerData, ToIncomingWorker } from './protocol.js';
import { incomingSections } from './sections.js';
import { guestRamInWorker } from './worker-ram.js';

const data = workerData as IncomingWorkerData;
const port = parentPort!;
const post = (message: FromIncomingWorker): void => port.postMessage(message);

let source: ByteSource | undefined;
let cancelled = false;
port.on('message', (message: ToIncomingWorker) => {
  if (message.type === 'cancel') {
    cancelled = true;
    source?.destroy(new Error('incoming migration cancelled'));
  }
});

async function run(): Promise<void> {
  const ram = guestRamInWorker(data.ram);
  const listener = await listenIncoming(parseMigrationUri(data.uri));
  post(listener.address === undefined ? { type: 'listening' } : { type: 'listening', address: listener.address });
  try {
    source = await listener.accept();
  } finally {
    await listener.close();
  }
  if (cancelled) throw new Error('incoming migration cancelled');
  post({ type: 'status', status: 'active' });
  const { reader: loader, globalstate } = incomingSections({ machine: data.machine, ram });
  const counters = new Float64Array(data.stats);
  for await (const chunk of source) {
    loader.push(chunk);
    counters[0] = loader.bytesReceived;
  }
  loader.end();
  const runstate = globalstate.runstate;
  post({ type: 'done', status: 'completed', ...(runstate === undefined ? {} : { runstate }) });
}

run().catch((err: unknown) => {
  const error = err instanceof Error ? err.message : String(err);
  post({ type: 'done', status: cancelled ? 'cancelled' : 'failed', error });
});
