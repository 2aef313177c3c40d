import { ControlType, controlTypeName, type ControlTypeValue } from './constants.js';
import { decodeControlMessage, encodeControlMessage, type ControlMessage } from './control-message.js';
import { RdmaPeerError } from './errors.js';

/**
 * What the control channel needs from the verbs layer: SEND a message, and the received messages in
 * arrival order. The verbs layer keeps receives posted ahead, so a message from the peer always finds one
 * (QEMU's peer never retries on "receiver not ready").
 */
export interface ControlLink {
  /** SENDs one whole message (header and body); resolves when the send has completed. */
  send(message: Uint8Array): Promise<void>;
  /** The next received message, exactly the bytes the completion reported; valid until the next call. */
  receive(): Promise<Uint8Array>;
}

function checkNotError(message: ControlMessage, during: string): ControlMessage {
  if (message.type === ControlType.ERROR) throw new RdmaPeerError(during);
  return message;
}

/**
 * The source's side of the lock-step (QEMU's exchange_send): every message waits for the destination's
 * READY, which says a receive is posted for it. After connecting, a READY is due before the first send.
 */
export class ControlSender {
  readonly #link: ControlLink;
  #readyDue = true;

  constructor(link: ControlLink) {
    this.#link = link;
  }

  async #awaitReady(during: string): Promise<void> {
    if (!this.#readyDue) return;
    checkNotError(decodeControlMessage(await this.#link.receive(), ControlType.READY), during);
    this.#readyDue = false;
  }

  /** Sends one message that gets no reply. */
  async send(type: ControlTypeValue, body?: Uint8Array, repeat = 1): Promise<void> {
    const during = `sending ${controlTypeName(type)}`;
    await this.#awaitReady(during);
    await this.#link.send(encodeControlMessage(type, body, repeat));
    this.#readyDue = true;
  }

  /**
   * Sends a request and waits for its reply (which comes without a READY). `meanwhile` runs after the
   * request went and before the reply is awaited (pin-all registers the source's memory there).
   */
  async request(
    type: ControlTypeValue, body: Uint8Array | undefined, replyType: ControlTypeValue, repeat = 1, meanwhile?: () => void,
  ): Promise<ControlMessage> {
    const during = `waiting for ${controlTypeName(replyType)}`;
    await this.#awaitReady(`sending ${controlTypeName(type)}`);
    await this.#link.send(encodeControlMessage(type, body, repeat));
    this.#readyDue = true;
    meanwhile?.();
    return checkNotError(decodeControlMessage(await this.#link.receive(), replyType), during);
  }
}

/**
 * The destination's side (QEMU's exchange_recv): say READY, then take the message. Replies to a request go
 * at once: the source posted a receive for them.
 */
export class ControlReceiver {
  readonly #link: ControlLink;

  constructor(link: ControlLink) {
    this.#link = link;
  }

  /** READY, then the next message; `expected` NONE takes any type. */
  async receive(expected: ControlTypeValue = ControlType.NONE): Promise<ControlMessage> {
    await this.#link.send(encodeControlMessage(ControlType.READY));
    const during = expected === ControlType.NONE ? 'waiting for a control message' : `waiting for ${controlTypeName(expected)}`;
    return checkNotError(decodeControlMessage(await this.#link.receive(), expected), during);
  }

  async reply(type: ControlTypeValue, body?: Uint8Array, repeat = 1): Promise<void> {
    await this.#link.send(encodeControlMessage(type, body, repeat));
  }
}

/** The ERROR message a side sends when it gives up (QEMU: on cleanup after an error or a cancel). */
export function errorMessage(): Uint8Array {
  return encodeControlMessage(ControlType.ERROR);
}
