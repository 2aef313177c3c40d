// The messages between a link proxy (link-proxy-main.ts, inside a namespace) and the test driving it.

/**
 * What a cut does to the connection: `hold` stops relaying (the sender stalls once buffers fill) until
 * release or another action; `reset` sends RST both ways; `close` ends the target's side (EOF) and closes the
 * source's (its next writes are refused); `blackhole` relays nothing more and refuses nothing (a dead link).
 */
export type CutAction = 'hold' | 'reset' | 'close' | 'blackhole';
export const CUT_ACTIONS: readonly CutAction[] = ['hold', 'reset', 'close', 'blackhole'];

export type ProxyCommand =
  /** Act when `at` bytes from the source have been relayed on the current (or next) connection. */
  | { op: 'arm'; at: number; action: CutAction }
  /** Act now on the current connection. */
  | { op: 'now'; action: CutAction }
  /** Relay again after a hold. */
  | { op: 'release' }
  | { op: 'stats' };

export type ProxyEvent =
  | { ev: 'listening' }
  | { ev: 'connected'; connection: number }
  | { ev: 'held'; forwarded: number }
  | { ev: 'cut'; action: CutAction; forwarded: number }
  | { ev: 'peer-closed'; side: 'source' | 'target'; forwarded: number; error?: string }
  | { ev: 'stats'; forwarded: number; returned: number; connections: number }
  | { ev: 'error'; message: string };
