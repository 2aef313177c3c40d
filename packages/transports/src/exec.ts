import { spawn, type ChildProcess } from 'node:child_process';
import { Duplex, type Readable } from 'node:stream';
import { TransportError, describeCause, errorCode } from './errors.js';
import { WritableSink, describeWriteFailure } from './sink.js';
import { ReadableSource, describeReadFailure } from './source.js';
import { secureClient, secureServer, type TlsClientOptions, type TlsServerOptions } from './tls.js';
import type { TransportListener } from './types.js';
import { describeUri } from './uri.js';

/** exec: the stream goes to a command's stdin (outgoing) or comes from its stdout (incoming), via `sh -c`. */

const STDERR_TAIL_BYTES = 2048;
/** How long a broken pipe waits for the command's exit status to explain it. */
const EXIT_GRACE_MS = 2000;

interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned `sh -c COMMAND` with its exit status and the tail of its stderr. */
class Command {
  readonly endpoint: string;
  readonly child: ChildProcess;
  /** Resolves when the command exited and its stdio closed. */
  readonly exited: Promise<ExitStatus>;
  /** Resolves to the error a failed exit stands for, or undefined for status 0. */
  readonly outcome: Promise<TransportError | undefined>;
  #stderr = '';
  #status: ExitStatus | undefined;

  constructor(
    readonly command: string,
    stdio: ['pipe', 'ignore' | 'pipe', 'pipe'] | ['ignore' | 'pipe', 'pipe', 'pipe'],
  ) {
    this.endpoint = describeUri({ kind: 'exec', command });
    this.child = spawn('/bin/sh', ['-c', command], { stdio });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (text: string) => {
      this.#stderr = (this.#stderr + text).slice(-STDERR_TAIL_BYTES);
    });
    this.exited = new Promise<ExitStatus>((resolve) => {
      this.child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        this.#status = { code, signal };
        resolve(this.#status);
      });
    });
    this.outcome = this.exited.then((status) => (status.code === 0 ? undefined : this.exitError(status)));
  }

  /** Resolves once the command started; rejects when it could not be spawned. */
  started(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.child.once('spawn', resolve);
      // Kept for the child's life: a later 'error' (a failed kill) must not go unhandled.
      this.child.on('error', (err) => {
        reject(
          new TransportError(`cannot start the migration command ${this.endpoint}: ${describeCause(err)}`, {
            endpoint: this.endpoint,
            code: errorCode(err),
            cause: err,
          }),
        );
      });
    });
  }

  get running(): boolean {
    return this.#status === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  stop(): void {
    if (this.running) this.child.kill('SIGTERM');
  }

  /** The exit status, if it comes within `ms`. */
  exitWithin(ms: number): Promise<ExitStatus | undefined> {
    if (this.#status !== undefined) return Promise.resolve(this.#status);
    return new Promise<ExitStatus | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), ms);
      timer.unref();
      void this.exited.then((status) => {
        clearTimeout(timer);
        resolve(status);
      });
    });
  }

  /** stdout and stdin as one two-way stream, for TLS (QEMU's command channel is two-way too). */
  duplex(): Duplex {
    const { stdout, stdin } = this.child;
    if (stdout === null || stdin === null) throw new Error('spawn gave no stdin/stdout pipe'); // stdio 'pipe' both
    return Duplex.from({ readable: stdout, writable: stdin });
  }

  exitError(status: ExitStatus, bytes?: number): TransportError {
    const how = status.signal !== null ? `was killed by signal ${status.signal}` : `exited with status ${status.code}`;
    const tail = this.#stderr.trim();
    const stderr = tail.length > 0 ? `; its stderr ends with: ${tail}` : '';
    return new TransportError(`migration command '${this.command}' ${how}${stderr}`, {
      endpoint: this.endpoint,
      bytes,
    });
  }
}

/**
 * Starts `sh -c COMMAND` and returns a sink over its stdin; `end()` also waits for status 0. With `tls` the
 * sink is a TLS client session over its stdin and stdout.
 */
export async function openExecOutgoing(command: string, tls?: TlsClientOptions): Promise<WritableSink> {
  const cmd = new Command(command, ['pipe', tls === undefined ? 'ignore' : 'pipe', 'pipe']);
  await cmd.started();
  const stdin = tls === undefined ? cmd.child.stdin : await secureOverCommand(cmd, tls);
  if (stdin === null) throw new Error('spawn gave no stdin pipe'); // cannot happen with stdio 'pipe'
  const sink = new WritableSink(stdin, {
    endpoint: cmd.endpoint,
    explainFailure: async (err, flushed) => {
      const status = await cmd.exitWithin(EXIT_GRACE_MS);
      if (status === undefined) return describeWriteFailure(cmd.endpoint, err, flushed);
      if (status.code !== 0) return cmd.exitError(status, flushed);
      const broken = describeWriteFailure(cmd.endpoint, err, flushed);
      return new TransportError(`${broken.message}: the command exited with status 0 before reading all of it`, {
        endpoint: cmd.endpoint,
        bytes: flushed,
        code: broken.code,
        cause: err,
      });
    },
    afterFinish: async () => {
      const failure = await cmd.outcome;
      if (failure !== undefined) throw failure;
    },
    release: () => cmd.stop(),
  });
  // A command that fails while we are not writing is reported at the next write or end().
  void cmd.outcome.then((failure) => {
    if (failure !== undefined) sink.destroy(failure);
  });
  return sink;
}

/** The TLS client handshake over the command's stdin and stdout; a failure stops the command. */
async function secureOverCommand(cmd: Command, tls: TlsClientOptions): Promise<Duplex> {
  try {
    return await secureClient(cmd.duplex(), tls, cmd.endpoint);
  } catch (err) {
    cmd.stop();
    throw err;
  }
}

/**
 * Starts `sh -c COMMAND` at once (as QEMU's migrate-incoming does); `accept()` gives its stdout (with `tls`:
 * a TLS server session over its stdout and stdin).
 */
export async function listenExecIncoming(command: string, tls?: TlsServerOptions): Promise<TransportListener> {
  const cmd = new Command(command, [tls === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe']);
  await cmd.started();
  return new ExecListener(cmd, tls);
}

class ExecListener implements TransportListener {
  readonly address: string;
  readonly #cmd: Command;
  readonly #tls: TlsServerOptions | undefined;
  #taken = false;
  #closed = false;

  constructor(cmd: Command, tls: TlsServerOptions | undefined) {
    this.#cmd = cmd;
    this.address = cmd.endpoint;
    this.#tls = tls;
  }

  async accept(): Promise<ReadableSource> {
    if (this.#closed || this.#taken) {
      const why = this.#closed ? 'is closed' : 'already gave its one stream';
      throw new TransportError(`the listener for ${this.address} ${why}`, { endpoint: this.address });
    }
    this.#taken = true;
    const cmd = this.#cmd;
    let stdout: Readable | null = cmd.child.stdout;
    if (this.#tls !== undefined) {
      try {
        stdout = await secureServer(cmd.duplex(), this.#tls, cmd.endpoint);
      } catch (err) {
        cmd.stop();
        throw err;
      }
    }
    if (stdout === null) throw new Error('spawn gave no stdout pipe'); // cannot happen with stdio 'pipe'
    return (
      new ReadableSource(stdout, {
        endpoint: cmd.endpoint,
        explainFailure: async (err, read) => {
          const status = await cmd.exitWithin(EXIT_GRACE_MS);
          if (status !== undefined && status.code !== 0) return cmd.exitError(status, read);
          return describeReadFailure(cmd.endpoint, err, read);
        },
        afterEnd: async () => {
          const failure = await cmd.outcome;
          if (failure !== undefined) throw failure;
        },
        release: () => cmd.stop(),
      })
    );
  }

  /** Stops the command unless its stream was accepted (then the source owns it). */
  close(): Promise<void> {
    this.#closed = true;
    if (!this.#taken) this.#cmd.stop();
    return Promise.resolve();
  }
}
