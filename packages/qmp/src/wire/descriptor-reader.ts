/**
 * Reads a connected unix socket with recvmsg, so that descriptors sent with SCM_RIGHTS arrive with their
 * bytes. Node's own reads would drop them (the kernel closes descriptors a plain read() does not take), so
 * node's handle for the socket must never read (accept with `pauseOnConnect`, never resume); it still writes.
 * Readiness comes from libuv's poll on node's event loop (koffi.node.poll) on a dup of the socket: libuv
 * watches one handle per descriptor number, and node's handle has the original for its writes.
 */
import { closeDescriptor, duplicateDescriptor, loadKoffi, receiveWithDescriptors } from './descriptors.js';

export interface DescriptorReaderHandlers {
  /** Bytes in arrival order, with the descriptors that came with them (owned by the handler from here). */
  data(bytes: Buffer, fds: number[]): void;
  /** The peer closed its side. */
  end(): void;
  error(err: Error): void;
}

interface PollHandle {
  start(opts: { readable: boolean }, callback: () => void): void;
  stop(): void;
  close(): void;
}

type Poll = (fd: number, opts: { readable: boolean }, callback: () => void) => PollHandle;

/** Reads per turn of the event loop, so that one busy client cannot hold the loop. */
const READS_PER_TURN = 16;

export class DescriptorReader {
  readonly #fd: number;
  readonly #handlers: DescriptorReaderHandlers;
  readonly #poll: PollHandle;
  #scheduled = false;
  #paused = false;
  #closed = false;

  /** Starts reading socket `socketFd` (which stays open and node's: the reader works on its own dup). */
  constructor(socketFd: number, handlers: DescriptorReaderHandlers) {
    const poll = (loadKoffi() as unknown as { node?: { poll?: Poll } }).node?.poll;
    if (typeof poll !== 'function') throw new Error('this koffi has no node.poll (koffi 2.15 or later is needed)');
    this.#fd = duplicateDescriptor(socketFd);
    this.#handlers = handlers;
    try {
      this.#poll = poll(this.#fd, { readable: true }, this.#onReadable);
    } catch (err) {
      closeDescriptor(this.#fd);
      throw err;
    }
  }

  /** Stops reading until `resume()` (bytes wait in the kernel). */
  pause(): void {
    if (this.#paused || this.#closed) return;
    this.#paused = true;
    this.#poll.stop();
  }

  resume(): void {
    if (!this.#paused || this.#closed) return;
    this.#paused = false;
    this.#poll.start({ readable: true }, this.#onReadable);
    this.#onReadable();
  }

  /** Stops for good and closes the reader's dup (not the socket). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poll.close();
    closeDescriptor(this.#fd);
  }

  // libuv calls this outside any node callback scope: the reading runs as an immediate, where promise
  // jobs the handlers start are run as usual.
  readonly #onReadable = (): void => {
    if (this.#scheduled || this.#paused || this.#closed) return;
    this.#scheduled = true;
    setImmediate(this.#drain);
  };

  readonly #drain = (): void => {
    this.#scheduled = false;
    try {
      for (let i = 0; i < READS_PER_TURN && !this.#paused && !this.#closed; i++) {
        const got = receiveWithDescriptors(this.#fd);
        if (got === undefined) return; // EAGAIN: the poll calls again when more comes
        if (got.bytes.length === 0) {
          for (const fd of got.fds) closeDescriptor(fd);
          this.close();
          this.#handlers.end();
          return;
        }
        this.#handlers.data(got.bytes, got.fds);
      }
    } catch (err) {
      if (this.#closed) return;
      this.close();
      this.#handlers.error(err as Error);
    }
  };
}
