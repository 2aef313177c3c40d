/**
 * A QMP server: newline-delimited JSON over unix and tcp sockets, several listeners and clients at once,
 * capability negotiation and request checks as QEMU 7.2 does them, arguments validated with the commands' zod
 * schemas, handlers supplied by the daemon. Nothing a client sends, and nothing a handler throws, crashes it.
 */
import { chmodSync, closeSync, lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import type { z } from 'zod';
import {
  commandNames,
  commands,
  getCommand,
  type CommandArgs,
  type CommandReturn,
  type HandledCommandName,
} from './commands/registry.js';
import { EmptyReturn } from './commands/types.js';
import { QmpError } from './errors.js';
import { eventSchemas, type EventData, type EventName, type EventsWithoutData } from './events.js';
import { describeArgumentError } from './qapi.js';
import { DescriptorReader } from './wire/descriptor-reader.js';
import { descriptorPassingAvailable } from './wire/descriptors.js';
import type { QmpEndpoint } from './wire/endpoint.js';
import { formatEndpoint } from './wire/endpoint.js';
import { DEFAULT_MAX_LINE_BYTES, LINE_TOO_LONG, LineDecoder } from './wire/framing.js';
import { checkJsonLimits, QEMU_MAX_NESTING, QEMU_MAX_TOKEN_COUNT, TOKEN_SIZE_LIMIT_DESC, type JsonLimits } from './wire/json-limits.js';
import { checkRequest, timestampNow, type QmpErrorBody, type QmpGreeting, type QmpVersion } from './wire/messages.js';

/** What a handler learns about the request it serves. */
export interface QmpCommandContext {
  /** Which connection sent it (1, 2, ... in accept order). */
  clientId: number;
  /** Aborted when that connection goes away (the reply will not be delivered). */
  signal: AbortSignal;
  /** Which listener the client came through (1, 2, ... in listen order): QEMU's monitor, which owns getfd's names. */
  monitor: number;
  /**
   * QEMU's qemu_chr_fe_get_msgfd: the descriptor sent with SCM_RIGHTS along with this request (or, failing
   * that, one an earlier request of the connection left unclaimed), or undefined. The caller owns it; the
   * others of the same message are closed. Always undefined over tcp.
   */
  takeDescriptor(): number | undefined;
}

export type QmpHandler<K extends HandledCommandName> = (
  args: CommandArgs<K>,
  ctx: QmpCommandContext,
) => HandlerResult<K> | Promise<HandlerResult<K>>;

/** A command whose reply is `{}` may also return nothing. */
export type HandlerResult<K extends HandledCommandName> =
  [CommandReturn<K>] extends [Record<string, never>] ? CommandReturn<K> | void : CommandReturn<K>;

/** The daemon's side of every command except qmp_capabilities and query-commands (the server answers those). */
export type QmpHandlers = { [K in HandledCommandName]: QmpHandler<K> };

export type QmpLogger = (level: 'warn' | 'error', message: string, err?: unknown) => void;

export interface QmpServerOptions {
  handlers: QmpHandlers;
  /** Version in the greeting. Default qemu 7.2.0, package "mig". */
  greeting?: QmpVersion;
  /** Where handler failures and misbehaving clients are reported. Default: console.error. */
  log?: QmpLogger;
  /**
   * Longest request line accepted (default 1 MiB; QEMU's bound is 64 MiB of tokens). A longer one is answered
   * with QEMU's "JSON token size limit exceeded" and dropped up to its newline, unbuffered; the connection goes on.
   */
  maxLineBytes?: number;
  /** Deepest nesting of arrays and objects in a request (default QEMU's 1024). */
  maxNesting?: number;
  /** Most JSON tokens in a request (default QEMU's 2 Mi; reachable only with maxLineBytes raised past ~4 MiB). */
  maxTokens?: number;
  /** Check each handler's return value against the command's reply schema (GenericError if it does not match). Default true. */
  validateReplies?: boolean;
  /**
   * A client that lets this many bytes of output pile up unread is disconnected when the next event is due
   * (default 8 MiB). Replies never pile up: a client's next request waits until its earlier replies drained.
   */
  maxPendingOutputBytes?: number;
}

export interface QmpListenOptions {
  /**
   * Permissions of a unix socket's file: default 0o600 (owner only). `'umask'` leaves them to the process's
   * umask, as QEMU 7.2 does (0777 & ~umask, so 0755 under umask 022: only the owner may connect).
   */
  socketMode?: number | 'umask';
}

export const DEFAULT_MAX_PENDING_OUTPUT_BYTES = 8 * 1024 * 1024;
export const DEFAULT_SOCKET_MODE = 0o600;
/** QEMU's QMP_REQ_QUEUE_LEN_MAX: a monitor stops reading a client that has this many requests waiting. */
export const MAX_QUEUED_REQUESTS = 8;

export interface QmpListener {
  /** The bound address (for tcp with port 0, the port chosen). */
  readonly endpoint: QmpEndpoint;
  close(): Promise<void>;
}

export const DEFAULT_GREETING_VERSION: QmpVersion = { qemu: { major: 7, minor: 2, micro: 0 }, package: 'mig' };

const NEGOTIATION_PENDING = "Expecting capabilities negotiation with 'qmp_capabilities'";
const NEGOTIATION_DONE = 'Capabilities negotiation is already complete, command ignored';

function defaultLog(level: 'warn' | 'error', message: string, err?: unknown): void {
  console.error(`[qmp ${level}] ${message}`, ...(err === undefined ? [] : [err]));
}

function closeQuietly(fds: readonly number[]): void {
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}

/** The descriptors that came with one request line; `takeDescriptor` empties it. */
type RequestDescriptors = number[];

class Connection {
  negotiated = false;
  oob = false;
  private readonly decoder: LineDecoder;
  private queue: Promise<void> = Promise.resolve();
  /** Requests read and not yet answered (input stops at MAX_QUEUED_REQUESTS). */
  private queued = 0;
  private inputPaused = false;
  private readonly abort = new AbortController();
  private closed = false;
  private stopped = false;
  /** Reads the socket when it is a unix one and descriptors can be passed; else node reads it. */
  private readonly reader: DescriptorReader | undefined;
  /** Descriptors received while a request line is being read: they belong to the next line completed. */
  private incomingFds: number[] = [];
  /** Descriptors a request left unclaimed: a later getfd may still take them, as QEMU's chardev keeps them. */
  private lingeringFds: number[] = [];

  constructor(
    readonly id: number,
    readonly socket: net.Socket,
    private readonly server: QmpServer,
    maxLineBytes: number,
    private readonly maxPendingOutput: number,
    readonly monitor: number,
    passDescriptors: boolean,
  ) {
    this.decoder = new LineDecoder(maxLineBytes);
    this.reader = passDescriptors ? this.startReader() : undefined;
    if (this.reader === undefined) {
      socket.on('data', (chunk: Buffer) => this.onData(chunk, []));
      socket.resume(); // a unix listener accepts paused
    }
    socket.on('error', () => {
      // ECONNRESET/EPIPE from a client that went away: 'close' follows and cleans up.
    });
    socket.on('close', () => {
      this.closed = true;
      this.reader?.close();
      closeQuietly(this.incomingFds.splice(0));
      closeQuietly(this.lingeringFds.splice(0));
      this.abort.abort(new Error(`QMP client ${id} disconnected`));
      server.dropConnection(this);
    });
  }

  /** recvmsg instead of node's reads, so that SCM_RIGHTS descriptors are kept; undefined if it cannot start. */
  private startReader(): DescriptorReader | undefined {
    const fd = (this.socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) return undefined;
    try {
      return new DescriptorReader(fd, {
        data: (bytes, fds) => this.onData(bytes, fds),
        end: () => this.onInputEnd(),
        error: () => this.socket.destroy(),
      });
    } catch (err) {
      this.server.log('warn', `QMP client ${this.id}: cannot read descriptors on this socket; reading it without`, err);
      return undefined;
    }
  }

  get isOpen(): boolean {
    return !this.closed && !this.socket.destroyed;
  }

  /** Open and not yet ended on our side. */
  private get writable(): boolean {
    return this.isOpen && !this.socket.writableEnded;
  }

  /** The greeting or a reply: written whatever is queued (the request waited for earlier output to drain). */
  send(msg: unknown): void {
    if (!this.writable) return;
    this.socket.write(`${JSON.stringify(msg)}\n`);
  }

  /** An event (one serialized line): a client that lets output pile up past the bound is disconnected instead. */
  sendEvent(line: string): void {
    if (!this.writable) return;
    const queued = this.socket.writableLength;
    if (queued + line.length > this.maxPendingOutput) {
      this.server.log('warn', `QMP client ${this.id} is not reading (${queued} bytes queued, bound ${this.maxPendingOutput}); disconnecting it`);
      this.socket.destroy();
      return;
    }
    this.socket.write(line);
  }

  close(): void {
    this.socket.destroy();
  }

  /** The request's own descriptor, else one left from before; the rest of that message is closed. */
  takeDescriptor(request: RequestDescriptors): number | undefined {
    const batch = request.length > 0 ? request : this.lingeringFds;
    const [first, ...rest] = batch.splice(0);
    closeQuietly(rest);
    return first;
  }

  /** After a request: descriptors it did not claim replace the lingering ones (QEMU keeps the latest). */
  settleDescriptors(request: RequestDescriptors): void {
    if (request.length === 0) return;
    const left = request.splice(0);
    if (!this.isOpen) return closeQuietly(left);
    closeQuietly(this.lingeringFds);
    this.lingeringFds = left;
  }

  /** The peer closed its side (unix reader): close ours, as node does for a socket it reads and QEMU does. */
  private onInputEnd(): void {
    this.stopped = true;
    this.endAfterReplies();
  }

  /** Ends our side once the replies are out, then closes (a socket node never reads would stay half open). */
  private endAfterReplies(): void {
    if (!this.isOpen) return;
    this.socket.once('finish', () => this.socket.destroy());
    this.socket.end();
  }

  private onData(chunk: Buffer, fds: number[]): void {
    if (!this.isOpen || this.stopped) return closeQuietly(fds);
    this.incomingFds.push(...fds);
    for (const line of this.decoder.pushSkipping(chunk)) {
      if (line === LINE_TOO_LONG) {
        this.onLineTooLong();
        continue;
      }
      if (line.trim() === '') continue;
      const request = this.incomingFds.splice(0);
      this.enqueue(() => this.server.dispatchLine(this, line, this.abort.signal, request));
    }
  }

  /**
   * Answers QEMU's size-limit error (no id: QEMU's parse errors have none) as soon as a line crosses the bound;
   * the decoder drops the rest of that line, and the next line is served as usual.
   */
  private onLineTooLong(): void {
    closeQuietly(this.incomingFds.splice(0));
    const limit = this.decoder.maxLineBytes;
    this.server.log('warn', `QMP client ${this.id}: a request line over ${limit} bytes; discarding it up to its newline`);
    const desc = `${TOKEN_SIZE_LIMIT_DESC} (a request line may hold at most ${limit} bytes)`;
    this.enqueue(() => {
      this.send({ error: { class: 'GenericError', desc } });
      return Promise.resolve();
    });
  }

  /**
   * QEMU runs one command at a time per monitor and answers in order. Each request also waits until the
   * replies before it have drained, and reading stops while MAX_QUEUED_REQUESTS wait: a client that sends
   * without reading is held back by its own socket instead of growing our buffers.
   */
  private enqueue(task: () => Promise<void>): void {
    if (++this.queued >= MAX_QUEUED_REQUESTS) this.pauseInput();
    this.queue = this.queue
      .then(() => this.outputDrained())
      .then(task)
      .finally(() => {
        if (--this.queued < MAX_QUEUED_REQUESTS) this.resumeInput();
      });
  }

  private outputDrained(): Promise<void> | undefined {
    if (!this.isOpen || !this.socket.writableNeedDrain) return undefined;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private pauseInput(): void {
    if (this.inputPaused) return;
    this.inputPaused = true;
    if (this.reader !== undefined) this.reader.pause();
    else this.socket.pause();
  }

  private resumeInput(): void {
    if (!this.inputPaused || !this.isOpen) return;
    this.inputPaused = false;
    if (this.reader !== undefined) this.reader.resume();
    else this.socket.resume();
  }
}

export class QmpServer {
  private readonly handlers: QmpHandlers;
  private readonly version: QmpVersion;
  private readonly maxLineBytes: number;
  private readonly maxPendingOutput: number;
  private readonly jsonLimits: JsonLimits;
  private readonly validateReplies: boolean;
  private readonly logFn: QmpLogger;
  private readonly connections = new Set<Connection>();
  private readonly listeners = new Set<QmpListener>();
  private nextClientId = 1;
  private nextMonitor = 1;

  constructor(options: QmpServerOptions) {
    this.handlers = options.handlers;
    this.version = options.greeting ?? DEFAULT_GREETING_VERSION;
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.maxPendingOutput = options.maxPendingOutputBytes ?? DEFAULT_MAX_PENDING_OUTPUT_BYTES;
    this.jsonLimits = { maxNesting: options.maxNesting ?? QEMU_MAX_NESTING, maxTokens: options.maxTokens ?? QEMU_MAX_TOKEN_COUNT };
    this.validateReplies = options.validateReplies ?? true;
    this.logFn = options.log ?? defaultLog;
  }

  /** The greeting each new client receives. */
  get greeting(): QmpGreeting {
    return { QMP: { version: this.version, capabilities: ['oob'] } };
  }

  /** Connected clients (negotiated or not). */
  get clientCount(): number {
    return this.connections.size;
  }

  /**
   * Starts accepting clients on a unix socket (a stale socket file is replaced; the new one is owner-only
   * unless `socketMode` says otherwise) or a tcp address.
   */
  async listen(endpoint: QmpEndpoint, options: QmpListenOptions = {}): Promise<QmpListener> {
    const monitor = this.nextMonitor++;
    // On a unix socket, descriptors may come with the bytes: node must not read them (see DescriptorReader).
    const passDescriptors = endpoint.kind === 'unix' && descriptorPassingAvailable();
    const srv = net.createServer({ pauseOnConnect: passDescriptors }, (socket) => this.accept(socket, monitor, passDescriptors));
    if (endpoint.kind === 'unix') removeStaleSocket(endpoint.path);
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      const done = () => {
        srv.off('error', reject);
        resolve();
      };
      if (endpoint.kind === 'unix') listenUnix(srv, endpoint.path, options.socketMode ?? DEFAULT_SOCKET_MODE, done);
      else srv.listen(endpoint.port, endpoint.host, done);
    }).catch((err: unknown) => {
      throw new Error(`QMP server cannot listen on ${formatEndpoint(endpoint)}: ${(err as Error).message}`, { cause: err });
    });
    srv.on('error', (err) => this.log('error', `QMP listener ${formatEndpoint(endpoint)} failed`, err));
    let bound: QmpEndpoint = endpoint;
    if (endpoint.kind === 'tcp') {
      const addr = srv.address();
      if (addr && typeof addr === 'object') bound = { kind: 'tcp', host: endpoint.host, port: addr.port };
    }
    let closing: Promise<void> | undefined;
    const listener: QmpListener = {
      endpoint: bound,
      close: () => {
        closing ??= new Promise<void>((resolve) => {
          this.listeners.delete(listener);
          srv.close(() => resolve());
        });
        return closing;
      },
    };
    this.listeners.add(listener);
    return listener;
  }

  /** Sends an event to every client that has completed negotiation. */
  emit<E extends EventsWithoutData>(name: E, data?: EventData<E>): void;
  emit<E extends EventName>(name: E, data: EventData<E>): void;
  emit(name: EventName, data: Record<string, unknown> = {}): void {
    const schema = eventSchemas[name] as z.ZodType;
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      throw new TypeError(`QMP event ${name}: data does not match its schema: ${parsed.error.message}`);
    }
    const msg: Record<string, unknown> = { timestamp: timestampNow(), event: name };
    if (Object.keys(data).length > 0) msg['data'] = data;
    const line = `${JSON.stringify(msg)}\n`;
    for (const c of this.connections) if (c.negotiated) c.sendEvent(line);
  }

  /** Stops every listener and disconnects every client. */
  async close(): Promise<void> {
    const closing = [...this.listeners].map((l) => l.close());
    for (const c of this.connections) c.close();
    await Promise.all(closing);
  }

  /** @internal */
  log(level: 'warn' | 'error', message: string, err?: unknown): void {
    try {
      this.logFn(level, message, err);
    } catch {
      // a failing logger must not take the server down
    }
  }

  /** @internal */
  dropConnection(c: Connection): void {
    this.connections.delete(c);
  }

  private accept(socket: net.Socket, monitor: number, passDescriptors: boolean): void {
    const c = new Connection(this.nextClientId++, socket, this, this.maxLineBytes, this.maxPendingOutput, monitor, passDescriptors);
    this.connections.add(c);
    c.send(this.greeting);
  }

  /** @internal One request line, start to reply. Never rejects. */
  async dispatchLine(c: Connection, line: string, signal: AbortSignal, fds: RequestDescriptors): Promise<void> {
    try {
      const reply = await this.handleLine(c, line, { clientId: c.id, signal, monitor: c.monitor, takeDescriptor: () => c.takeDescriptor(fds) });
      c.send(reply);
    } catch (err) {
      this.log('error', `QMP client ${c.id}: internal error while answering ${line.slice(0, 200)}`, err);
      c.send({ error: { class: 'GenericError', desc: `internal error: ${(err as Error).message}` } });
    } finally {
      c.settleDescriptors(fds);
    }
  }

  private async handleLine(c: Connection, line: string, ctx: QmpCommandContext): Promise<Record<string, unknown>> {
    const overLimit = checkJsonLimits(line, this.jsonLimits);
    if (overLimit !== undefined) return errorReply(false, undefined, { class: 'GenericError', desc: overLimit });
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      return errorReply(false, undefined, { class: 'GenericError', desc: `JSON parse error, ${(err as Error).message}` });
    }
    const check = checkRequest(value, c.oob);
    if (!check.ok) return errorReply(check.hasId, check.id, { class: 'GenericError', desc: check.desc });
    const req = check.request;
    const reply = (body: { return: unknown } | { error: QmpErrorBody }) =>
      req.hasId ? { ...body, id: req.id } : { ...body };
    const fail = (cls: string, desc: string) => reply({ error: { class: cls, desc } });

    if (!c.negotiated && req.execute !== 'qmp_capabilities') return fail('CommandNotFound', NEGOTIATION_PENDING);
    const def = getCommand(req.execute);
    const handler = def && !def.builtin ? (this.handlers as Record<string, unknown>)[def.name] : undefined;
    if (!def || (!def.builtin && typeof handler !== 'function')) {
      return fail('CommandNotFound', `The command ${req.execute} has not been found`);
    }
    if (req.oob) return fail('GenericError', `The command ${req.execute} does not support OOB`);
    const args = def.args.safeParse(req.arguments);
    if (!args.success) return fail('GenericError', describeArgumentError(args.error));

    if (def.name === 'qmp_capabilities') {
      if (c.negotiated) return fail('CommandNotFound', NEGOTIATION_DONE);
      c.negotiated = true;
      c.oob = ((args.data as { enable?: string[] }).enable ?? []).includes('oob');
      return reply({ return: {} });
    }
    if (def.name === 'query-commands') {
      return reply({ return: this.availableCommands().map((name) => ({ name })) });
    }

    let result: unknown;
    try {
      result = await (handler as (a: unknown, ctx: QmpCommandContext) => unknown)(args.data, ctx);
    } catch (err) {
      if (err instanceof QmpError) return fail(err.errorClass, err.desc);
      const message = err instanceof Error ? err.message : String(err);
      this.log('error', `QMP command ${def.name} failed`, err);
      return fail('GenericError', message || `${def.name} failed`);
    }
    if (result === undefined && def.returns === EmptyReturn) result = {};
    if (this.validateReplies) {
      const ok = def.returns.safeParse(result);
      if (!ok.success) {
        this.log('error', `QMP command ${def.name}: handler reply does not match the schema: ${ok.error.message}`);
        return fail('GenericError', `internal error: reply to ${def.name} does not match its schema`);
      }
      result = ok.data;
    }
    return reply({ return: result });
  }

  private availableCommands(): string[] {
    return commandNames.filter((n) => {
      const def = commands[n];
      return 'builtin' in def || typeof (this.handlers as Record<string, unknown>)[n] === 'function';
    });
  }
}

function errorReply(hasId: boolean, id: unknown, error: QmpErrorBody): Record<string, unknown> {
  return hasId ? { id, error } : { error };
}

/**
 * bind() makes the socket file 0777 & ~umask; the umask is narrowed around it (bind runs inside listen()),
 * so that no one else can connect even for a moment, and the mode is set exactly once listening. A worker
 * thread cannot change the umask: there only the chmod applies, a moment after bind.
 */
function listenUnix(srv: net.Server, path: string, mode: number | 'umask', done: () => void): void {
  if (mode === 'umask') {
    srv.listen(path, done);
    return;
  }
  let previous: number | undefined;
  try {
    previous = process.umask(~mode & 0o777);
  } catch {
    // not allowed in a worker thread
  }
  try {
    srv.listen(path, () => {
      try {
        chmodSync(path, mode);
      } catch (err) {
        srv.close();
        srv.emit('error', err); // listen() rejects with it
        return;
      }
      done();
    });
  } finally {
    if (previous !== undefined) process.umask(previous);
  }
}

function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // not there: nothing to remove
  }
}
