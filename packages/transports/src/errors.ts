/** A migration URI that cannot be parsed; the message names the bad part. */
export class UriError extends Error {
  override readonly name = 'UriError';
  constructor(
    readonly uri: string,
    message: string,
  ) {
    super(message);
  }
}

/** A transport mig parses but cannot open. The message names the URI. (No transport throws it today: rdma opens.) */
export class TransportNotSupportedError extends Error {
  override readonly name = 'TransportNotSupportedError';
  constructor(
    readonly kind: string,
    readonly endpoint: string = `${kind}:`,
  ) {
    super(`${endpoint}: ${kind === 'rdma' ? 'RDMA migration' : `the ${kind}: migration transport`} is not supported by mig yet`);
  }
}

export interface TransportErrorOptions {
  /** The endpoint, as a migration URI for log lines (`describeUri`). */
  endpoint: string;
  /** Bytes that had passed through the stream when it failed (written to the OS, or read). */
  bytes?: number;
  /** The errno-style code of the cause (EPIPE, ECONNREFUSED, ...), when there is one. */
  code?: string;
  cause?: unknown;
}

/** A connection, listener, stream or command of a transport failed. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  readonly endpoint: string;
  readonly bytes: number | undefined;
  readonly code: string | undefined;
  constructor(message: string, options: TransportErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.endpoint = options.endpoint;
    this.bytes = options.bytes;
    this.code = options.code;
  }
}

const CODE_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  EPIPE: 'broken pipe',
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'temporary failure resolving the host',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTSOCK: 'not a socket',
  ENAMETOOLONG: 'path too long',
  EBADF: 'bad file descriptor',
  ENOTCONN: 'socket is not connected',
  EISDIR: 'is a directory',
};

/** The errno-style code of an error from node, if any. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** "connection refused (ECONNREFUSED)", or the error's own message when it has no known code. */
export function describeCause(err: unknown): string {
  const code = errorCode(err);
  if (code !== undefined && CODE_WORDS[code] !== undefined) return `${CODE_WORDS[code]} (${code})`;
  if (err instanceof Error) return err.message;
  return String(err);
}
