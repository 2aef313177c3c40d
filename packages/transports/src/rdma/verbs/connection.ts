import { acceptCapabilities, connectOutcome, decodeCapabilities, encodeCapabilities, offerCapabilities } from '../protocol/capabilities.js';
import { errorMessage } from '../protocol/control-channel.js';
import { CmEventChannel, type CmEventInfo } from './cm-events.js';
import { VerbsControlLink } from './control-link.js';
import { loadVerbs, type Pointer, type VerbsLibrary } from './library.js';
import { QueuePair } from './queue-pair.js';
import { AddrInfoOffset, CmEvent, CONN_PARAM_BYTES, ConnParamOffset, RDMA_PS_TCP } from './structs.js';

/** QEMU's RDMA_RESOLVE_TIMEOUT_MS, for address and route resolution. */
const RESOLVE_TIMEOUT_MS = 10_000;
const ESTABLISH_TIMEOUT_MS = 30_000;

/** One established RDMA connection: its control link and queue pair, and what was negotiated. */
export class RdmaConnection {
  constructor(
    readonly verbs: VerbsLibrary,
    readonly events: CmEventChannel,
    readonly id: Pointer,
    readonly qp: QueuePair,
    readonly link: VerbsControlLink,
    readonly pinAll: boolean,
    /** Set when the source asked for pin-all and the destination did not grant it. */
    readonly warning?: string,
  ) {
    events.onDisconnect(() => link.disconnected());
  }

  #closed = false;

  /** Disconnects and frees everything; after a failure it first tells the peer (ERROR), as QEMU does. */
  async close(failed = false): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (failed && this.link.failure === undefined) await this.link.send(errorMessage()).catch(() => undefined);
    this.link.fail(new Error('the RDMA connection was closed'));
    this.verbs.rdma_disconnect(this.id);
    this.link.close();
    this.qp.destroy();
    this.verbs.rdma_destroy_id(this.id);
    this.events.close();
  }
}

function check(status: number, what: string, verbs: VerbsLibrary): void {
  if (status !== 0) throw new Error(`${what} failed: errno ${verbs.errno()}`);
}

async function expectEvent(events: CmEventChannel, wanted: number, what: string, timeoutMs: number): Promise<CmEventInfo> {
  const info = await events.next(what, timeoutMs);
  if (info.event !== wanted) throw new Error(`${what}: got ${info.name} (status ${info.status})`);
  return info;
}

/** The addresses rdma_getaddrinfo gives for host:port, handed to `each` until it returns true. */
function forEachAddress(verbs: VerbsLibrary, host: string, port: number, each: (address: Pointer) => boolean): boolean {
  const result: [Pointer | null] = [null];
  if (verbs.rdma_getaddrinfo(host, String(port), null, result) !== 0 || result[0] === null) {
    throw new Error(`could not rdma_getaddrinfo address ${host}`);
  }
  try {
    for (let info: Pointer | null = result[0]; info !== null; info = verbs.koffi.decode(info, AddrInfoOffset.next, 'void *') as Pointer | null) {
      const address = verbs.koffi.decode(info, AddrInfoOffset.dstAddr, 'void *') as Pointer | null;
      if (address !== null && each(address)) return true;
    }
    return false;
  } finally {
    verbs.rdma_freeaddrinfo(result[0]);
  }
}

function connParam(privateData: Uint8Array, verbs: VerbsLibrary, depth: { initiator?: number; responder?: number; retry?: number }): Uint8Array {
  const param = new Uint8Array(CONN_PARAM_BYTES);
  const view = new DataView(param.buffer);
  view.setBigUint64(ConnParamOffset.privateData, BigInt(verbs.addressOf(privateData)), true);
  param[ConnParamOffset.privateDataLen] = privateData.byteLength;
  param[ConnParamOffset.responderResources] = depth.responder ?? 0;
  param[ConnParamOffset.initiatorDepth] = depth.initiator ?? 0;
  param[ConnParamOffset.retryCount] = depth.retry ?? 0;
  return param;
}

function createId(verbs: VerbsLibrary, events: CmEventChannel): Pointer {
  const id: [Pointer | null] = [null];
  check(verbs.rdma_create_id(events.channel, id, null, RDMA_PS_TCP), 'rdma_create_id', verbs);
  return id[0]!;
}

/** The source's side: resolve, route, queue pair, connect with the capabilities in the private data. */
export async function connectRdma(host: string, port: number, requestPinAll: boolean): Promise<RdmaConnection> {
  const verbs = loadVerbs();
  const events = new CmEventChannel(verbs);
  let id: Pointer | undefined;
  let qp: QueuePair | undefined;
  let link: VerbsControlLink | undefined;
  try {
    const cmId = createId(verbs, events);
    id = cmId;
    const resolving = forEachAddress(verbs, host, port, (address) => verbs.rdma_resolve_addr(cmId, null, address, RESOLVE_TIMEOUT_MS) === 0);
    if (!resolving) throw new Error(`could not resolve address ${host}`);
    await expectEvent(events, CmEvent.ADDR_RESOLVED, `resolving ${host}`, RESOLVE_TIMEOUT_MS + 1000);
    check(verbs.rdma_resolve_route(cmId, RESOLVE_TIMEOUT_MS), 'rdma_resolve_route', verbs);
    await expectEvent(events, CmEvent.ROUTE_RESOLVED, `resolving the route to ${host}`, RESOLVE_TIMEOUT_MS + 1000);
    qp = new QueuePair(verbs, cmId);
    link = new VerbsControlLink(verbs, qp);
    link.postReceives();
    const offer = encodeCapabilities(offerCapabilities(requestPinAll));
    check(verbs.rdma_connect(cmId, connParam(offer, verbs, { initiator: 2, retry: 5 })), 'rdma_connect', verbs);
    const established = await expectEvent(events, CmEvent.ESTABLISHED, 'connecting to the destination', ESTABLISH_TIMEOUT_MS);
    const outcome = connectOutcome(requestPinAll, decodeCapabilities(established.privateData));
    return new RdmaConnection(verbs, events, cmId, qp, link, outcome.pinAll, outcome.warning);
  } catch (err) {
    link?.close();
    qp?.destroy();
    if (id !== undefined) verbs.rdma_destroy_id(id);
    events.close();
    throw err;
  }
}

/** The destination's listening id: bound and listening; `accept` takes the one connection. */
export class RdmaListener {
  readonly #verbs: VerbsLibrary;
  readonly #events: CmEventChannel;
  readonly #id: Pointer;
  #closed = false;

  private constructor(verbs: VerbsLibrary, events: CmEventChannel, id: Pointer) {
    this.#verbs = verbs;
    this.#events = events;
    this.#id = id;
  }

  static listen(host: string, port: number): RdmaListener {
    const verbs = loadVerbs();
    const events = new CmEventChannel(verbs);
    let id: Pointer | undefined;
    try {
      const listenId = createId(verbs, events);
      id = listenId;
      if (!forEachAddress(verbs, host, port, (address) => verbs.rdma_bind_addr(listenId, address) === 0)) {
        throw new Error(`could not rdma_bind_addr to ${host}:${port}`);
      }
      check(verbs.rdma_listen(listenId, 5), 'rdma_listen', verbs);
      return new RdmaListener(verbs, events, listenId);
    } catch (err) {
      if (id !== undefined) verbs.rdma_destroy_id(id);
      events.close();
      throw err;
    }
  }

  /** Waits for CONNECT_REQUEST, answers the capabilities, builds the queue pair, accepts. */
  async accept(): Promise<RdmaConnection> {
    const verbs = this.#verbs;
    const request = await expectEvent(this.#events, CmEvent.CONNECT_REQUEST, 'a connection request', 0);
    const accepted = acceptCapabilities(decodeCapabilities(request.privateData));
    const qp = new QueuePair(verbs, request.id);
    const link = new VerbsControlLink(verbs, qp);
    try {
      link.postReceives();
      const answer = encodeCapabilities(accepted.answer);
      check(verbs.rdma_accept(request.id, connParam(answer, verbs, { responder: 2 })), 'rdma_accept', verbs);
      await expectEvent(this.#events, CmEvent.ESTABLISHED, 'the connection to be established', ESTABLISH_TIMEOUT_MS);
    } catch (err) {
      link.close();
      qp.destroy();
      verbs.rdma_destroy_id(request.id);
      throw err;
    }
    // the connection's events keep coming on the listener's channel: it moves to the connection
    return new RdmaConnection(verbs, this.#events, request.id, qp, link, accepted.pinAll);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#verbs.rdma_destroy_id(this.#id);
  }

  /** Closes the event channel too, when no connection took it over. */
  closeAll(): void {
    this.close();
    this.#events.close();
  }
}
