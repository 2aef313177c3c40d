/** QMP error classes as QEMU 7.2 names them on the wire (`{"error":{"class":...}}`). */
export type QmpErrorClass =
  | 'GenericError'
  | 'CommandNotFound'
  | 'DeviceNotActive'
  | 'DeviceNotFound'
  | 'KVMMissingCap'
  | (string & {});

/**
 * A QMP error reply. Thrown by command handlers on the server (it becomes `{"error":{"class","desc"}}`),
 * and thrown by the client when the peer answered a command with an error.
 */
export class QmpError extends Error {
  override readonly name = 'QmpError';
  constructor(
    readonly errorClass: QmpErrorClass,
    readonly desc: string,
    options?: { cause?: unknown },
  ) {
    super(`${errorClass}: ${desc}`, options);
  }
}

/** The QMP connection closed (or was never usable) while something was waiting on it. */
export class QmpConnectionClosedError extends Error {
  override readonly name = 'QmpConnectionClosedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The peer sent something that is not QMP as this client understands it (bad greeting, reply of wrong shape...). */
export class QmpProtocolError extends Error {
  override readonly name = 'QmpProtocolError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A wait (connect, execute, event) ran past its time limit. */
export class QmpTimeoutError extends Error {
  override readonly name = 'QmpTimeoutError';
  constructor(message: string) {
    super(message);
  }
}
