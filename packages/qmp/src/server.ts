/**
 * A QMP server: newline-delimited JSON over unix and tcp sockets, several listeners and clients at once,
 * capability negotiation and request checks as QEMU 7.2 does them, arguments validated with the commands' zod
 * schemas, handlers supplied by the daemon. Nothing a client sends, and nothing a handler throws, crashes it.
 */
import { closeSync, lstatSync, unlinkSync } from 'node:fs';
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
import { DEFAULT_MAX_LINE_BYTES, LineDecoder, LineTooLongError } from './wire/framing.js';
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
  /** Longest request line accepted; a longer one is answered with an error and the connection closed. */
  maxLineBytes?: number;
  /** Check each handler's return value against the command's reply schema (GenericError if it does not match). Default true. */
  validateReplies?: boolean;
  /** A client that lets this many bytes of replies/events pile up unread is disconnected. Default 64 MiB. */
  maxPendingOutputBytes?: number;
}

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

  send(msg: unknown): void {
    if (!this.isOpen) return;
    this.socket.write(`${JSON.stringify(msg)}\n`);
    if (this.socket.writableLength > this.maxPendingOutput) {
      this.server.log('warn', `QMP client ${this.id} is not reading (${this.socket.writableLength} bytes queued); disconnecting it`);
      this.socket.destroy();
    }
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
    let lines: string[];
    let overflow: LineTooLongError | undefined;
    try {
      lines = this.decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof LineTooLongError)) throw err;
      overflow = err;
      lines = err.lines;
    }
    for (const line of lines) {
      if (line.trim() === '') continue;
      const request = this.incomingFds.splice(0);
      // QEMU runs one command at a time per monitor and answers in order.
      this.queue = this.queue.then(() => this.server.dispatchLine(this, line, this.abort.signal, request));
    }
    if (overflow) this.onOverflow(overflow);
  }

  private onOverflow(err: LineTooLongError): void {
    this.stopped = true;
    if (this.reader !== undefined) this.reader.pause();
    else this.socket.pause();
    this.server.log('warn', `QMP client ${this.id}: ${err.message}; closing the connection`);
    this.queue = this.queue.then(() => {
      this.send({ error: { class: 'GenericError', desc: `${err.message}; closing the connection` } });
      this.endAfterReplies();
    });
  }
}

export class QmpServer {
  private readonly handlers: QmpHandlers;
  private readonly version: QmpVersion;
  private readonly maxLineBytes: number;
  private readonly maxPendingOutput: number;
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
    this.maxPendingOutput = options.maxPendingOutputBytes ?? 64 * 1024 * 1024;
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

  /** Starts accepting clients on a unix socket (a stale socket file is replaced) or a tcp address. */
  async listen(endpoint: QmpEndpoint): Promise<QmpListener> {
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
      if (endpoint.kind === 'unix') srv.listen(endpoint.path, done);
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
    for (const c of this.connections) if (c.negotiated) c.send(msg);
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

function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // not there: nothing to remove
  }
}
