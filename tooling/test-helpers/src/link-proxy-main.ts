// The link proxy's program: a TCP relay run inside a test host's namespace (`ip netns exec NS node THIS
// LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT`), driven by its parent over the IPC channel. It counts the
// bytes it relays from the connecting side (the migration source) to the target, and at a chosen count or on
// command holds, resets, closes or blackholes the connection — byte exact, with backpressure kept end to end
// so the sender stalls when the relay does.
import net from 'node:net';
import { type CutAction, type ProxyCommand, type ProxyEvent } from './link-proxy-protocol.js';

interface Pair {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  forwarded: number;
  returned: number;
  /** Bytes past a hold, relayed on release. */
  heldRest: Buffer | undefined;
  /** Set once a cut (or the peer) ended it: nothing more is relayed. */
  done: boolean;
}

interface Trigger {
  at: number;
  action: CutAction;
}

const [listenHost, listenPortText, targetHost, targetPortText] = process.argv.slice(2);
let current: Pair | undefined;
let trigger: Trigger | undefined;
let connections = 0;

function send(ev: ProxyEvent): void {
  process.send?.(ev);
}

const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (client) => {
  connections++;
  const upstream = net.connect({ host: targetHost!, port: Number(targetPortText), noDelay: true });
  const pair: Pair = { client, upstream, forwarded: 0, returned: 0, heldRest: undefined, done: false };
  current = pair;
  upstream.once('connect', () => {
    send({ ev: 'connected', connection: connections });
    if (trigger !== undefined && trigger.at <= 0) fire(pair, Buffer.alloc(0));
    else client.resume();
  });
  client.on('data', (chunk: Buffer) => relayForward(pair, chunk));
  upstream.on('data', (chunk: Buffer) => {
    if (pair.done) return;
    pair.returned += chunk.length;
    if (!client.write(chunk)) upstream.pause();
  });
  client.on('drain', () => !pair.done && upstream.resume());
  upstream.on('drain', () => !pair.done && pair.heldRest === undefined && client.resume());
  client.on('end', () => !pair.done && upstream.end());
  upstream.on('end', () => !pair.done && client.end());
  // one side failing takes the other down the same way: a reset
  const peerFailed = (side: 'source' | 'target') => (err?: Error) => {
    if (pair.done) return;
    pair.done = true;
    send({ ev: 'peer-closed', side, forwarded: pair.forwarded, ...(err ? { error: err.message } : {}) });
    client.resetAndDestroy();
    upstream.resetAndDestroy();
  };
  client.on('error', peerFailed('source'));
  upstream.on('error', peerFailed('target'));
});

function relayForward(pair: Pair, chunk: Buffer): void {
  if (pair.done) return;
  if (trigger !== undefined && pair === current && pair.forwarded + chunk.length >= trigger.at) {
    const head = Math.max(0, trigger.at - pair.forwarded);
    write(pair, chunk.subarray(0, head));
    fire(pair, chunk.subarray(head));
    return;
  }
  write(pair, chunk);
}

function write(pair: Pair, bytes: Buffer): void {
  if (bytes.length === 0) return;
  pair.forwarded += bytes.length;
  if (!pair.upstream.write(bytes)) pair.client.pause();
}

/** The trigger's action, now; `rest` is what came past the trigger point (kept by a hold, dropped otherwise). */
function fire(pair: Pair, rest: Buffer): void {
  const action = trigger?.action ?? 'hold';
  trigger = undefined;
  act(pair, action, rest);
}

function act(pair: Pair, action: CutAction, rest: Buffer): void {
  switch (action) {
    case 'hold':
      pair.client.pause();
      pair.heldRest = Buffer.from(rest);
      send({ ev: 'held', forwarded: pair.forwarded });
      return;
    case 'reset':
      pair.done = true;
      pair.client.resetAndDestroy();
      pair.upstream.resetAndDestroy();
      break;
    case 'close':
      pair.done = true;
      pair.upstream.end();
      pair.client.destroy();
      break;
    case 'blackhole':
      // nothing more either way, and nothing refused: both ends see a silent peer
      pair.done = true;
      pair.client.pause();
      pair.upstream.pause();
      break;
  }
  send({ ev: 'cut', action, forwarded: pair.forwarded });
}

function release(pair: Pair): void {
  const rest = pair.heldRest;
  pair.heldRest = undefined;
  if (rest === undefined || pair.done) return;
  if (rest.length > 0) relayForward(pair, rest);
  if (!pair.done && pair.heldRest === undefined) pair.client.resume();
}

process.on('message', (msg: ProxyCommand) => {
  switch (msg.op) {
    case 'arm':
      trigger = { at: msg.at, action: msg.action };
      // already past the point (or held there): act at once
      if (current !== undefined && !current.done && current.forwarded >= msg.at) fire(current, current.heldRest ?? Buffer.alloc(0));
      break;
    case 'now':
      if (current === undefined || current.done) send({ ev: 'error', message: `no open connection to ${msg.action}` });
      else act(current, msg.action, current.heldRest ?? Buffer.alloc(0));
      break;
    case 'release':
      if (current !== undefined) release(current);
      break;
    case 'stats':
      send({ ev: 'stats', forwarded: current?.forwarded ?? 0, returned: current?.returned ?? 0, connections });
      break;
  }
});
process.on('disconnect', () => process.exit(0));

server.on('error', (err) => {
  send({ ev: 'error', message: `listen on ${listenHost}:${listenPortText}: ${err.message}` });
  process.exit(1);
});
server.listen(Number(listenPortText), listenHost, () => send({ ev: 'listening' }));
