import { CAPABILITIES_BYTES, CAPABILITY_PIN_ALL, CONTROL_VERSION, KNOWN_CAPABILITIES } from './constants.js';
import { RdmaProtocolError } from './errors.js';
import { viewOf } from './wire.js';

/**
 * The capabilities in the connection's private data: be32 version, be32 flags. The source offers, the
 * destination answers with the flags it knows and enables; the source keeps what the answer grants.
 */
export interface RdmaCapabilities {
  version: number;
  flags: number;
}

export function encodeCapabilities(caps: RdmaCapabilities): Uint8Array {
  const out = new Uint8Array(CAPABILITIES_BYTES);
  const view = viewOf(out);
  view.setUint32(0, caps.version >>> 0);
  view.setUint32(4, caps.flags >>> 0);
  return out;
}

/**
 * Private data can be longer than 8 bytes (the transport pads it: InfiniBand CM carries 92 or more); the
 * capabilities are its first 8.
 */
export function decodeCapabilities(privateData: Uint8Array): RdmaCapabilities {
  if (privateData.byteLength < CAPABILITIES_BYTES) {
    throw new RdmaProtocolError(
      `RDMA capabilities: the connection's private data has ${privateData.byteLength} bytes, fewer than ${CAPABILITIES_BYTES}`,
      'capabilities',
      privateData.byteLength,
    );
  }
  const view = viewOf(privateData);
  return { version: view.getUint32(0), flags: view.getUint32(4) };
}

/** What the source offers: version 1, pin-all when its rdma-pin-all capability is on. */
export function offerCapabilities(pinAll: boolean): RdmaCapabilities {
  return { version: CONTROL_VERSION, flags: pinAll ? CAPABILITY_PIN_ALL : 0 };
}

export interface AcceptedCapabilities {
  /** The answer for the accept's private data. */
  answer: RdmaCapabilities;
  pinAll: boolean;
}

/** The destination's side: refuse an unknown version; answer with the flags it knows. */
export function acceptCapabilities(offer: RdmaCapabilities): AcceptedCapabilities {
  if (offer.version < 1 || offer.version > CONTROL_VERSION) {
    throw new RdmaProtocolError(
      `RDMA capabilities: unknown source RDMA version ${offer.version} (this side speaks ${CONTROL_VERSION})`, 'capabilities', 0,
    );
  }
  const flags = offer.flags & KNOWN_CAPABILITIES;
  return { answer: { version: offer.version, flags }, pinAll: (flags & CAPABILITY_PIN_ALL) !== 0 };
}

export interface ConnectOutcome {
  pinAll: boolean;
  /** Set when pin-all was asked for and not granted (QEMU's words). */
  warning?: string;
}

/** The source's side, from the destination's answer. */
export function connectOutcome(requestedPinAll: boolean, answer: RdmaCapabilities): ConnectOutcome {
  if (requestedPinAll && (answer.flags & CAPABILITY_PIN_ALL) === 0) {
    return { pinAll: false, warning: 'Server cannot support pinning all memory. Will register memory dynamically.' };
  }
  return { pinAll: requestedPinAll };
}
