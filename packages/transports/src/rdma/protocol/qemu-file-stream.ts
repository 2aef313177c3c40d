import { ControlType, QEMU_FILE_MAX_BYTES } from './constants.js';
import type { ControlReceiver, ControlSender } from './control-channel.js';
import { RdmaDisconnectedError } from './errors.js';

/**
 * The migration stream over the control channel: the source cuts its bytes into QEMU_FILE messages of at
 * most 32768 bytes, each its own READY/SEND exchange; the destination takes one message at a time. The
 * message boundaries carry no meaning.
 */
export class QemuFileWriter {
  readonly #sender: ControlSender;
  readonly #beforeBytes: (() => Promise<void> | undefined) | undefined;
  #bytesSent = 0;

  /** `beforeBytes`: posts the pending merged RAM write first (QEMU flushes it before every stream write). */
  constructor(sender: ControlSender, beforeBytes?: () => Promise<void> | undefined) {
    this.#sender = sender;
    this.#beforeBytes = beforeBytes;
  }

  get bytesSent(): number {
    return this.#bytesSent;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (bytes.byteLength === 0) return;
    await this.#beforeBytes?.();
    for (let at = 0; at < bytes.byteLength; at += QEMU_FILE_MAX_BYTES) {
      const piece = bytes.subarray(at, Math.min(at + QEMU_FILE_MAX_BYTES, bytes.byteLength));
      await this.#sender.send(ControlType.QEMU_FILE, piece);
      this.#bytesSent += piece.byteLength;
    }
  }
}

export class QemuFileReader {
  readonly #receiver: ControlReceiver;
  #bytesReceived = 0;

  constructor(receiver: ControlReceiver) {
    this.#receiver = receiver;
  }

  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  /**
   * The next piece of the stream, a copy (the receive buffer is reused), never empty; null once the peer
   * disconnected (the stream's end: whether it was complete is the stream parser's to say).
   */
  async read(): Promise<Uint8Array | null> {
    for (;;) {
      let message;
      try {
        message = await this.#receiver.receive(ControlType.QEMU_FILE);
      } catch (err) {
        if (err instanceof RdmaDisconnectedError) return null;
        throw err;
      }
      if (message.body.byteLength === 0) continue;
      this.#bytesReceived += message.body.byteLength;
      return message.body.slice();
    }
  }
}
