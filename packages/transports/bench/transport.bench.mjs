// The transport ceiling: 1 GiB through one loopback connection in 1 MiB writes, reader discarding,
// with @mig/transports' sink and source, next to raw node sockets on the same machine and run.
// Usage: pnpm --filter @mig/transports build && node packages/transports/bench/transport.bench.mjs [MiB]
// Prints one JSON object. Writer and reader share this process (one event loop), as the daemon's
// worker would for one direction.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenIncoming, openOutgoing, parseMigrationUri } from '../dist/index.js';

const MiB = 1024 * 1024;
const totalMiB = Number(process.argv[2] ?? 1024);
if (!Number.isInteger(totalMiB) || totalMiB <= 0) throw new Error(`total MiB must be a positive integer, got '${process.argv[2]}'`);
const total = totalMiB * MiB;
const chunk = randomBytes(MiB); // written again and again, never changed

async function viaTransports(uri) {
  const listener = await listenIncoming(uri);
  const accepted = listener.accept();
  const sink = await openOutgoing(parseMigrationUri(listener.address)); // tcp: the real port
  const source = await accepted;
  const start = process.hrtime.bigint();
  const reader = (async () => {
    let read = 0;
    for await (const got of source) read += got.byteLength;
    return read;
  })();
  for (let sent = 0; sent < total; sent += MiB) await sink.write(chunk);
  await sink.end();
  const read = await reader;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await listener.close();
  if (read !== total) throw new Error(`read ${read} bytes, expected ${total}`);
  return seconds;
}

async function viaRawNode(listen, connect) {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(listen, resolve));
  const address = server.address();
  const done = new Promise((resolve) => {
    server.once('connection', (socket) => {
      let read = 0;
      socket.on('data', (got) => (read += got.length));
      socket.on('end', () => resolve(read));
    });
  });
  const socket = net.connect(typeof address === 'string' ? { path: address } : { ...connect, port: address.port });
  await new Promise((resolve) => socket.once('connect', resolve));
  const start = process.hrtime.bigint();
  for (let sent = 0; sent < total; sent += MiB) {
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
  }
  socket.end();
  const read = await done;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  server.close();
  if (read !== total) throw new Error(`raw read ${read} bytes, expected ${total}`);
  return seconds;
}

const mbps = (seconds) => Math.round(total / seconds / 1e6);
const dir = mkdtempSync(join(tmpdir(), 'mig-transport-bench-'));
try {
  const results = {};
  const runs = [
    ['tcp', () => viaTransports({ kind: 'tcp', host: '127.0.0.1', port: 0 })],
    ['tcp_raw_node', () => viaRawNode({ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1' })],
    ['unix', () => viaTransports({ kind: 'unix', path: join(dir, 'mig.sock') })],
    ['unix_raw_node', () => viaRawNode({ path: join(dir, 'raw.sock') })],
  ];
  for (const [name, run] of runs) {
    await run(); // warm-up at the same size: JIT, socket buffer autotuning
    const seconds = await run();
    results[name] = { MBps: mbps(seconds), seconds: Number(seconds.toFixed(3)) };
  }
  console.log(
    JSON.stringify({
      bench: 'transport',
      bytes: total,
      writeSize: MiB,
      node: process.version,
      results,
      ratio: {
        tcp: Number((results.tcp.MBps / results.tcp_raw_node.MBps).toFixed(2)),
        unix: Number((results.unix.MBps / results.unix_raw_node.MBps).toFixed(2)),
      },
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
