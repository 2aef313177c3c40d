/**
 * A control message or connection parameter that breaks QEMU's RDMA protocol. The message names what was
 * wrong, the message type and the byte offset in the message.
 */
export class RdmaProtocolError extends Error {
  override readonly name = 'RdmaProtocolError';
  constructor(
    message: string,
    /** The control message type's name ("REGISTER_REQUEST"), or what was being decoded. */
    readonly record: string,
    /** Byte offset in the message (header included) where the problem is. */
    readonly offset: number,
  ) {
    super(message);
  }
}

/** The peer gave up: it sent an ERROR control message (QEMU does on cleanup after a failure or a cancel). */
export class RdmaPeerError extends Error {
  override readonly name = 'RdmaPeerError';
  constructor(readonly during: string) {
    super(`the RDMA peer sent ERROR (it gave up the migration) while ${during}`);
  }
}

/** The connection went away (a DISCONNECTED event): the end of the stream for a reader. */
export class RdmaDisconnectedError extends Error {
  override readonly name = 'RdmaDisconnectedError';
  constructor(message = 'the RDMA connection was disconnected') {
    super(message);
  }
}
