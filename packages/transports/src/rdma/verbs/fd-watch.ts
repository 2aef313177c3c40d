import type { VerbsLibrary } from './library.js';

interface PollHandle {
  start(opts: { readable: boolean }, callback: () => void): void;
  stop(): void;
  close(): void;
}
type Poll = (fd: number, opts: { readable: boolean }, callback: () => void) => PollHandle;

/**
 * Readiness of a librdmacm / libibverbs descriptor (the CM event channel, the completion channel) on
 * node's event loop, through libuv's poll (koffi.node.poll): nothing blocks the thread.
 */
export class FdWatcher {
  readonly #handle: PollHandle;
  readonly #onReady: () => void;
  #closed = false;

  constructor(verbs: VerbsLibrary, fd: number, onReady: () => void) {
    const poll = (verbs.koffi as unknown as { node?: { poll?: Poll } }).node?.poll;
    if (typeof poll !== 'function') throw new Error('this koffi has no node.poll (koffi 2.15 or later is needed)');
    this.#onReady = onReady;
    this.#handle = poll(fd, { readable: true }, this.#fire);
  }

  readonly #fire = (): void => {
    if (!this.#closed) this.#onReady();
  };

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handle.close();
  }
}

/** Sets O_NONBLOCK, so that a read with nothing ready returns EAGAIN instead of waiting. */
export function setNonBlocking(verbs: VerbsLibrary, fd: number): void {
  const flags = verbs.fcntl(fd, 3, 0);
  if (flags < 0 || verbs.fcntl(fd, 4, flags | 0o4000) < 0) throw new Error(`fcntl(O_NONBLOCK) failed on descriptor ${fd}: errno ${verbs.errno()}`);
}
