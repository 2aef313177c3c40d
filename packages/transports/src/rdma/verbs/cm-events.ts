import { FdWatcher, setNonBlocking } from './fd-watch.js';
import type { Pointer, VerbsLibrary } from './library.js';
import { CmEvent, CmEventOffset, EAGAIN, EventChannelOffset } from './structs.js';

/** One connection-manager event, copied out before it is acknowledged. */
export interface CmEventInfo {
  event: number;
  name: string;
  status: number;
  /** The event's cm id (a new one for CONNECT_REQUEST). */
  id: Pointer;
  privateData: Uint8Array;
}

/**
 * librdmacm's event channel, read without blocking: events come in order; `next` waits for one (with a
 * timeout), `onDisconnect` hears DISCONNECTED and DEVICE_REMOVAL once a connection is up.
 */
export class CmEventChannel {
  readonly channel: Pointer;
  readonly #verbs: VerbsLibrary;
  readonly #watcher: FdWatcher;
  readonly #queued: CmEventInfo[] = [];
  #waiter: ((info: CmEventInfo) => void) | undefined;
  #onDisconnect: ((info: CmEventInfo) => void) | undefined;
  #closed = false;

  constructor(verbs: VerbsLibrary) {
    this.#verbs = verbs;
    const channel = verbs.rdma_create_event_channel();
    if (channel === null) throw new Error(`rdma_create_event_channel failed: errno ${verbs.errno()}`);
    this.channel = channel;
    const fd = verbs.koffi.decode(channel, EventChannelOffset.fd, 'int') as number;
    setNonBlocking(verbs, fd);
    this.#watcher = new FdWatcher(verbs, fd, this.#drain);
  }

  readonly #drain = (): void => {
    for (;;) {
      const out: [Pointer | null] = [null];
      if (this.#verbs.rdma_get_cm_event(this.channel, out) !== 0 || out[0] === null) {
        if (this.#verbs.errno() !== EAGAIN) this.#deliver(this.#failure());
        return;
      }
      this.#deliver(this.#copy(out[0]));
    }
  };

  #copy(event: Pointer): CmEventInfo {
    const { koffi } = this.#verbs;
    const type = koffi.decode(event, CmEventOffset.event, 'int') as number;
    const length = koffi.decode(event, CmEventOffset.privateDataLen, 'uint8_t') as number;
    const data = koffi.decode(event, CmEventOffset.privateData, 'void *') as Pointer | null;
    const info: CmEventInfo = {
      event: type,
      name: this.#verbs.rdma_event_str(type),
      status: koffi.decode(event, CmEventOffset.status, 'int') as number,
      id: koffi.decode(event, CmEventOffset.id, 'void *') as Pointer,
      privateData: data === null || length === 0 ? new Uint8Array(0) : Uint8Array.from(koffi.decode(data, 'uint8_t', length) as number[]),
    };
    this.#verbs.rdma_ack_cm_event(event);
    return info;
  }

  #failure(): CmEventInfo {
    return { event: -1, name: `rdma_get_cm_event failed (errno ${this.#verbs.errno()})`, status: -1, id: {}, privateData: new Uint8Array(0) };
  }

  #deliver(info: CmEventInfo): void {
    if ((info.event === CmEvent.DISCONNECTED || info.event === CmEvent.DEVICE_REMOVAL) && this.#onDisconnect !== undefined) {
      this.#onDisconnect(info);
      return;
    }
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter !== undefined) waiter(info);
    else this.#queued.push(info);
  }

  /** The next event, or a rejection after `timeoutMs` (0: no limit) naming `what` was awaited. */
  next(what: string, timeoutMs: number): Promise<CmEventInfo> {
    const queued = this.#queued.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#closed) return Promise.reject(new Error(`the RDMA event channel is closed (waiting for ${what})`));
    return new Promise((resolve, reject) => {
      const timer = timeoutMs > 0 ? setTimeout(() => {
        this.#waiter = undefined;
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs) : undefined;
      this.#waiter = (info) => {
        clearTimeout(timer);
        resolve(info);
      };
    });
  }

  /** From here DISCONNECTED / DEVICE_REMOVAL go to `handler` instead of `next`. */
  onDisconnect(handler: (info: CmEventInfo) => void): void {
    this.#onDisconnect = handler;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher.close();
    this.#verbs.rdma_destroy_event_channel(this.channel);
  }
}
