// The target's stream loop, off the QMP thread: accept one connection, feed every chunk to the loader, and
// report `completed` only after the whole stream (through EOF) has been read and applied.
import { parentPort, workerData } from 'node:worker_threads';
import { StreamLoader, xbzrleDecode, PAGE_SIZE } from '@mig/ram';
import { listenIncoming, parseMigrationUri, type ByteSource } from '@mig/transports';
import type { FromIncomingWorker, IncomingWorkerData, ToIncomingWorker } from './protocol.js';
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
  const loader = new StreamLoader({
    machine: data.machine,
    ram,
    onXbzrle: (dest, destOffset, src, srcOffset, len) => {
      xbzrleDecode(src, srcOffset, len, dest, destOffset, PAGE_SIZE);
    },
  });
  const counters = new Float64Array(data.stats);
  for await (const chunk of source) {
    loader.push(chunk);
    counters[0] = loader.bytesReceived;
  }
  const result = loader.end();
  post({ type: 'done', status: 'completed', ...(result.runstate === undefined ? {} : { runstate: result.runstate }) });
}

run().catch((err: unknown) => {
  const error = err instanceof Error ? err.message : String(err);
  post({ type: 'done', status: cancelled ? 'cancelled' : 'failed', error });
});
