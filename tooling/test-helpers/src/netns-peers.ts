// Tiny TCP peers run inside a test host (a sink that counts and hashes what it gets, a sender of N patterned
// bytes), for tests of the hosts and the link proxy themselves.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { onCleanup, trackProcess } from './cleanup.js';
import type { TestHost } from './netns.js';

/** What a peer printed last: how its connection ended, with the bytes it moved. */
export interface PeerReport {
  ev: string;
  how?: string;
  n?: number;
  sha?: string;
}

export interface Peer {
  readonly proc: ChildProcess;
  /** The next line it prints (JSON), or undefined if it exits first. */
  next(timeoutMs?: number): Promise<PeerReport | undefined>;
}

const SINK = `
const net = require('node:net'); const h = require('node:crypto').createHash('sha256'); let n = 0;
const out = (how) => { console.log(JSON.stringify({ ev: 'done', how, n, sha: h.digest('hex') })); process.exit(0); };
net.createServer((s) => {
  s.on('data', (d) => { n += d.length; h.update(d); });
  s.on('end', () => out('end'));
  s.on('error', (e) => out(e.code));
}).listen(Number(process.argv[2]), process.argv[1], () => console.log(JSON.stringify({ ev: 'listening' })));
`;

const SENDER = `
const net = require('node:net'); const n = Number(process.argv[3]);
const buf = Buffer.alloc(n); for (let i = 0; i < n; i++) buf[i] = (i * 131 + (i >> 12)) & 255;
const s = net.connect({ host: process.argv[1], port: Number(process.argv[2]) }, () => {
  console.log(JSON.stringify({ ev: 'connected' }));
  s.end(buf, () => console.log(JSON.stringify({ ev: 'done', how: 'sent', n })));
});
s.on('error', (e) => { console.log(JSON.stringify({ ev: 'done', how: e.code })); process.exit(0); });
`;

/** The bytes the sender sends (to compare the sink's hash with). */
export function senderBytes(n: number): Buffer {
  const buf = Buffer.alloc(n);
  for (let i = 0; i < n; i++) buf[i] = (i * 131 + (i >> 12)) & 255;
  return buf;
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** A sink listening on address:port inside `host`; resolves once it listens. */
export async function startSink(host: TestHost, port: number, address = host.address): Promise<Peer> {
  const peer = runPeer(host, SINK, [address, String(port)]);
  const first = await peer.next(20_000);
  if (first?.ev !== 'listening') throw new Error(`sink on ${host.ns} did not listen: ${JSON.stringify(first)}`);
  return peer;
}

/** A sender of `n` patterned bytes to address:port from inside `host`. */
export function startSender(host: TestHost, address: string, port: number, n: number): Peer {
  return runPeer(host, SENDER, [address, String(port), String(n)]);
}

function runPeer(host: TestHost, script: string, args: string[]): Peer {
  const proc = spawn(host.wrap[0]!, [...host.wrap.slice(1), process.execPath, '-e', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  trackProcess(proc);
  const unregister = onCleanup(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  proc.once('exit', unregister);
  const lines: PeerReport[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const rl = createInterface({ input: proc.stdout! });
  rl.on('line', (l) => {
    lines.push(JSON.parse(l) as PeerReport);
    wake?.();
  });
  rl.on('close', () => {
    ended = true;
    wake?.();
  });
  return {
    proc,
    async next(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (lines.length === 0 && !ended) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`peer on ${host.ns}: nothing within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, Math.min(left, 200));
        });
      }
      return lines.shift();
    },
  };
}
