import { ControlType } from './constants.js';
import type { ControlReceiver } from './control-channel.js';
import type { ControlMessage } from './control-message.js';
import { RdmaDisconnectedError, RdmaProtocolError } from './errors.js';
import type { QemuFileWriter } from './qemu-file-stream.js';
import type { RdmaRamLoadControl } from './ram-load-control.js';
import type { RdmaRamSaveControl } from './ram-save-control.js';

/**
 * The source's stream with the RAM path: stream bytes go as QEMU_FILE messages up to each queued round's
 * HOOK record, then that round's RDMA work (REGISTER_REQUEST / COMPRESS / RDMA WRITEs, REGISTER_FINISHED),
 * then the bytes after it. So the wire carries what QEMU 7.2's source sends: registration_start flushes
 * the HOOK, and nothing of the stream follows until registration_stop has sent REGISTER_FINISHED.
 */
export class RdmaStreamWriter {
  readonly #file: QemuFileWriter;
  readonly #control: RdmaRamSaveControl;
  #position = 0;

  constructor(file: QemuFileWriter, control: RdmaRamSaveControl) {
    this.#file = file;
    this.#control = control;
  }

  /** Stream bytes sent so far. */
  get position(): number {
    return this.#position;
  }

  async write(bytes: Uint8Array): Promise<void> {
    let at = 0;
    for (;;) {
      const roundAt = this.#control.nextRoundAt;
      if (roundAt >= 0 && roundAt <= this.#position) {
        await this.#control.runNextRound();
        continue;
      }
      if (at === bytes.byteLength) return;
      const n = roundAt < 0 ? bytes.byteLength - at : Math.min(bytes.byteLength - at, roundAt - this.#position);
      await this.#file.write(bytes.subarray(at, at + n));
      this.#position += n;
      at += n;
    }
  }
}

/**
 * The destination's stream with the RAM path (QEMU's qemu_rdma_get_buffer and registration_handle): takes
 * QEMU_FILE messages as stream bytes; any other message belongs to a registration round, handled once the
 * RAM loader has met that round's HOOK record, until REGISTER_FINISHED. Stream bytes inside a round are
 * refused, as QEMU's registration loop refuses them.
 */
export class RdmaStreamReader {
  readonly #receiver: ControlReceiver;
  readonly #control: RdmaRamLoadControl;
  #bytesReceived = 0;

  constructor(receiver: ControlReceiver, control: RdmaRamLoadControl) {
    this.#receiver = receiver;
    this.#control = control;
  }

  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  /** The next piece of the stream (a copy), never empty; null once the peer disconnected. */
  async read(): Promise<Uint8Array | null> {
    for (;;) {
      let message;
      try {
        message = await this.#receiver.receive();
      } catch (err) {
        if (err instanceof RdmaDisconnectedError) return null;
        throw err;
      }
      if (message.type === ControlType.QEMU_FILE) {
        if (this.#control.inRound) {
          throw new RdmaProtocolError('QEMU_FILE control message during RAM registration (after a HOOK record, before REGISTER_FINISHED)', 'QEMU_FILE', 4);
        }
        if (message.body.byteLength === 0) continue;
        this.#bytesReceived += message.body.byteLength;
        return message.body.slice();
      }
      await this.#registration(message);
    }
  }

  async #registration(message: ControlMessage): Promise<void> {
    const waiting = this.#control.whenRound();
    if (waiting !== undefined) await waiting; // the body stays valid: no receive until it is handled
    if (message.type === ControlType.REGISTER_FINISHED) {
      this.#control.roundFinished();
      return;
    }
    await this.#control.registrations.handle(message, this.#receiver);
  }
}
