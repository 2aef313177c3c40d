/**
 * A typed QMP client: reads the greeting, negotiates, matches replies to requests by id (several commands may be
 * in flight), hands out events, and rejects everything still waiting when the connection goes away.
 */
import net from 'node:net';
import type { z } from 'zod';
import {
  commands,
  type CommandArgsInput,
  type CommandName,
  type CommandReturn,
  type CommandsWithOptionalArgs,
} from './commands/registry.js';
import type { MigrateSetParameters, MigrationCapabilityStatus } from './commands/types.js';
import { QmpConnectionClosedError, QmpError, QmpProtocolError, QmpTimeoutError } from './errors.js';
import { eventSchemas, isEventName, type EventData, type EventName, type QmpTimestamp } from './events.js';
import { formatEndpoint, parseEndpoint, type QmpEndpoint } from './wire/endpoint.js';
import { sendWithDescriptors } from './wire/descriptors.js';
import { LineDecoder } from './wire/framing.js';
import { QmpGreetingSchema, type QmpGreeting } from './wire/messages.js';

export interface QmpClientOptions {
  /** Limit for connecting, the greeting and negotiation together. Default 10 000 ms. */
  timeoutMs?: number;
  /** Keep retrying while the socket does not exist yet / refuses (ENOENT, ECONNREFUSED), within timeoutMs. */
  waitForSocket?: boolean;
  /** Capabilities to enable in qmp_capabilities (e.g. ['oob']); default none. */
  enable?: string[];
  /** Largest reply line accepted. Default 64 MiB. */
  maxLineBytes?: number;
}

export interface ExecuteOptions {
  /** Reject with QmpTimeoutError if no reply came within this time (the reply is then ignored). */
  timeoutMs?: number;
  /**
   * Descriptors sent with the request as SCM_RIGHTS (unix sockets only), as `getfd` wants them. They stay
   * open here: the peer receives its own copies.
   */
  fds?: readonly number[];
}

/** An event as received. `data` is `{}` when the wire had none. */
export interface ReceivedEvent {
  event: string;
  data: Record<string, unknown>;
  timestamp: QmpTimestamp;
  /** 1 for the first event received on this connection, then 2, 3, ... */
  seq: number;
}

/** A received event narrowed to one of the known names, its data validated. */
export interface TypedEvent<E extends EventName> extends ReceivedEvent {
  event: E;
  data: EventData<E> & Record<string, unknown>;
}

export interface WaitForEventOptions {
  /**
   * Also consider events already received whose `seq` is greater than this (see `eventCount`): take
   * `const mark = client.eventCount` before a command, then `waitForEvent(..., { after: mark })` cannot miss an
   * event that arrived with or before the command's reply. Default: only events received after the call.
   */
  after?: number;
}

interface Pending {
  name: string;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

interface EventWaiter {
  name: string;
  predicate: ((data: never, ev: ReceivedEvent) => boolean) | undefined;
  resolve(ev: ReceivedEvent): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

interface Subscriber {
  queue: ReceivedEvent[];
  wake: (() => void) | undefined;
}

const HISTORY_LIMIT = 1024;

function describeZodError(err: z.ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

export class QmpClient {
  readonly endpoint: QmpEndpoint;
  /** What the server sent on connect. */
  greeting!: QmpGreeting;

  private readonly label: string;
  private readonly socket: net.Socket;
  private readonly decoder: LineDecoder;
  private readonly pending = new Map<number, Pending>();
  private readonly waiters = new Set<EventWaiter>();
  private readonly subscribers = new Set<Subscriber>();
  private readonly history: ReceivedEvent[] = [];
  private nextId = 1;
  private seq = 0;
  private closed = false;
  private closeCause: Error | undefined;
  private greetingWaiter: { resolve(g: QmpGreeting): void; reject(e: Error): void } | undefined;
  private readonly closedPromise: Promise<void>;

  private constructor(endpoint: QmpEndpoint, socket: net.Socket, maxLineBytes: number) {
    this.endpoint = endpoint;
    this.label = formatEndpoint(endpoint);
    this.socket = socket;
    this.decoder = new LineDecoder(maxLineBytes);
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.closeCause ??= err;
    });
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.onClose();
        resolve();
      });
    });
  }

  /** Connects, reads the greeting, negotiates capabilities. */
  static async connect(endpointInput: QmpEndpoint | string, options: QmpClientOptions = {}): Promise<QmpClient> {
    const endpoint = parseEndpoint(endpointInput);
    const label = formatEndpoint(endpoint);
    const timeoutMs = options.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    const socket = await openSocket(endpoint, label, deadline, options.waitForSocket ?? false);
    const client = new QmpClient(endpoint, socket, options.maxLineBytes ?? 64 * 1024 * 1024);
    try {
      const greeting = await withTimeout(
        client.readGreeting(),
        deadline - Date.now(),
        `QMP greeting from ${label} did not arrive within ${timeoutMs} ms`,
      );
      client.greeting = greeting;
      const enable = options.enable;
      await client.execute('qmp_capabilities', enable ? { enable } : {}, {
        timeoutMs: Math.max(1, deadline - Date.now()),
      });
      return client;
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  /** True once the connection is gone (closed by either side). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** How many events this connection has received so far (the `seq` of the latest). */
  get eventCount(): number {
    return this.seq;
  }

  /** The most recent events received (up to 1024), oldest first. */
  get recentEvents(): readonly ReceivedEvent[] {
    return this.history;
  }

  /** Sends a command; resolves with its `return` value, rejects with QmpError for an error reply. */
  execute<K extends CommandName>(name: K, args?: CommandArgsInput<K>, options?: ExecuteOptions): Promise<CommandReturn<K>>;
  execute(name: string, args?: Record<string, unknown>, options?: ExecuteOptions): Promise<unknown>;
  execute(name: string, args?: Record<string, unknown>, options: ExecuteOptions = {}): Promise<unknown> {
    if (this.closed) {
      return Promise.reject(
        new QmpConnectionClosedError(`QMP connection to ${this.label} is closed; cannot execute '${name}'`, {
          cause: this.closeCause,
        }),
      );
    }
    const id = this.nextId++;
    const msg: Record<string, unknown> = { execute: name };
    if (args !== undefined) msg['arguments'] = args;
    msg['id'] = id;
    return new Promise((resolve, reject) => {
      const entry: Pending = { name, resolve, reject, timer: undefined };
      if (options.timeoutMs !== undefined) {
        entry.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new QmpTimeoutError(`QMP command '${name}' on ${this.label} got no reply within ${options.timeoutMs} ms`));
        }, options.timeoutMs);
      }
      this.pending.set(id, entry);
      const line = `${JSON.stringify(msg)}\n`;
      if (options.fds === undefined || options.fds.length === 0) this.socket.write(line);
      else {
        this.writeWithDescriptors(Buffer.from(line), options.fds).catch((err: unknown) => {
          this.pending.delete(id);
          if (entry.timer) clearTimeout(entry.timer);
          reject(err);
        });
      }
    });
  }

  /** The request's first bytes go with the descriptors in one sendmsg, after whatever node still buffers. */
  private async writeWithDescriptors(bytes: Buffer, fds: readonly number[]): Promise<void> {
    const fd = (this.socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
    if (this.endpoint.kind !== 'unix' || typeof fd !== 'number' || fd < 0) {
      throw new Error(`cannot send file descriptors to ${this.label}: SCM_RIGHTS needs a unix socket`);
    }
    for (let attempt = 0; ; attempt++) {
      if (this.socket.writableLength > 0) await new Promise((resolve) => this.socket.once('drain', resolve));
      try {
        const sent = sendWithDescriptors(fd, bytes, fds);
        if (sent < bytes.length) this.socket.write(bytes.subarray(sent));
        return;
      } catch (err) {
        // the socket is full: the server is behind on reading; try again shortly
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || attempt >= 100) {
          throw new Error(`sending file descriptors to ${this.label} failed: ${(err as Error).message}`, { cause: err });
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }

  /** `execute`, then the reply checked against the command's schema (QmpProtocolError if it does not match). */
  async call<K extends CommandName>(name: K, args?: CommandArgsInput<K>, options?: ExecuteOptions): Promise<CommandReturn<K>> {
    const raw = await this.execute(name, args as Record<string, unknown> | undefined, options);
    const parsed = commands[name].returns.safeParse(raw);
    if (!parsed.success) {
      throw new QmpProtocolError(
        `reply to '${name}' from ${this.label} does not match its schema: ${describeZodError(parsed.error)}`,
        { cause: parsed.error },
      );
    }
    return parsed.data as CommandReturn<K>;
  }

  // Typed commands. Each takes the QMP arguments object as QEMU names it.
  queryVersion(): Promise<CommandReturn<'query-version'>> {
    return this.call('query-version');
  }
  queryCommands(): Promise<CommandReturn<'query-commands'>> {
    return this.call('query-commands');
  }
  queryStatus(): Promise<CommandReturn<'query-status'>> {
    return this.call('query-status');
  }
  stop(): Promise<CommandReturn<'stop'>> {
    return this.call('stop');
  }
  cont(): Promise<CommandReturn<'cont'>> {
    return this.call('cont');
  }
  quit(): Promise<CommandReturn<'quit'>> {
    return this.call('quit');
  }
  migrate(args: CommandArgsInput<'migrate'>): Promise<CommandReturn<'migrate'>> {
    return this.call('migrate', args);
  }
  migrateIncoming(args: CommandArgsInput<'migrate-incoming'>): Promise<CommandReturn<'migrate-incoming'>> {
    return this.call('migrate-incoming', args);
  }
  migrateCancel(): Promise<CommandReturn<'migrate_cancel'>> {
    return this.call('migrate_cancel');
  }
  queryMigrate(): Promise<CommandReturn<'query-migrate'>> {
    return this.call('query-migrate');
  }
  migrateSetCapabilities(args: { capabilities: MigrationCapabilityStatus[] }): Promise<CommandReturn<'migrate-set-capabilities'>> {
    return this.call('migrate-set-capabilities', args);
  }
  queryMigrateCapabilities(): Promise<CommandReturn<'query-migrate-capabilities'>> {
    return this.call('query-migrate-capabilities');
  }
  migrateSetParameters(args: MigrateSetParameters): Promise<CommandReturn<'migrate-set-parameters'>> {
    return this.call('migrate-set-parameters', args);
  }
  queryMigrateParameters(): Promise<CommandReturn<'query-migrate-parameters'>> {
    return this.call('query-migrate-parameters');
  }
  /** Legacy (not in QEMU 7.2). */
  migrateSetSpeed(args: CommandArgsInput<'migrate_set_speed'>): Promise<CommandReturn<'migrate_set_speed'>> {
    return this.call('migrate_set_speed', args);
  }
  /** Legacy (not in QEMU 7.2). `value` in seconds. */
  migrateSetDowntime(args: CommandArgsInput<'migrate_set_downtime'>): Promise<CommandReturn<'migrate_set_downtime'>> {
    return this.call('migrate_set_downtime', args);
  }
  /** Legacy (not in QEMU 7.2). */
  migrateSetCacheSize(args: CommandArgsInput<'migrate-set-cache-size'>): Promise<CommandReturn<'migrate-set-cache-size'>> {
    return this.call('migrate-set-cache-size', args);
  }
  /** Legacy (not in QEMU 7.2). */
  queryMigrateCacheSize(): Promise<CommandReturn<'query-migrate-cache-size'>> {
    return this.call('query-migrate-cache-size');
  }
  pmemsave(args: CommandArgsInput<'pmemsave'>): Promise<CommandReturn<'pmemsave'>> {
    return this.call('pmemsave', args);
  }
  /** mig only: start/stop/change the guest workload. */
  xMigWorkload(args: CommandArgsInput<'x-mig-workload'>): Promise<CommandReturn<'x-mig-workload'>> {
    return this.call('x-mig-workload', args);
  }
  /** mig only. */
  xMigQueryWorkload(): Promise<CommandReturn<'x-mig-query-workload'>> {
    return this.call('x-mig-query-workload');
  }
  /** mig only: write bytes into guest RAM (base64 `data`, or hex with encoding 'hex'). */
  xMigWrite(args: CommandArgsInput<'x-mig-write'>): Promise<CommandReturn<'x-mig-write'>> {
    return this.call('x-mig-write', args);
  }
  /** mig only: progress, ETA and convergence of the outgoing migration. */
  xMigQueryProgress(): Promise<CommandReturn<'x-mig-query-progress'>> {
    return this.call('x-mig-query-progress');
  }
  /** Every drive with its medium and image chain (QEMU 7.2's BlockInfo list). */
  queryBlock(): Promise<CommandReturn<'query-block'>> {
    return this.call('query-block');
  }
  /** mig only: start/stop/change the disk workload of one drive. */
  xMigDiskWorkload(args: CommandArgsInput<'x-mig-disk-workload'>): Promise<CommandReturn<'x-mig-disk-workload'>> {
    return this.call('x-mig-disk-workload', args);
  }
  /** mig only: the disk workloads' settings and counters. */
  xMigQueryDiskWorkload(): Promise<CommandReturn<'x-mig-query-disk-workload'>> {
    return this.call('x-mig-query-disk-workload');
  }
  humanMonitorCommand(args: CommandArgsInput<'human-monitor-command'>): Promise<CommandReturn<'human-monitor-command'>> {
    return this.call('human-monitor-command', args);
  }
  /** Hands descriptor `fd` to the peer under `fdname` (SCM_RIGHTS; unix sockets only). Ours stays open. */
  getfd(fdname: string, fd: number): Promise<CommandReturn<'getfd'>> {
    return this.call('getfd', { fdname }, { fds: [fd] });
  }
  closefd(fdname: string): Promise<CommandReturn<'closefd'>> {
    return this.call('closefd', { fdname });
  }

  /**
   * Events received from now on, until the connection closes (then the iteration ends). Each call gives an
   * independent stream; break out of the loop to unsubscribe.
   */
  events(): AsyncIterableIterator<ReceivedEvent> {
    const sub: Subscriber = { queue: [], wake: undefined };
    if (!this.closed) this.subscribers.add(sub);
    const iterator: AsyncIterableIterator<ReceivedEvent> = {
      next: async () => {
        for (;;) {
          const ev = sub.queue.shift();
          if (ev) return { value: ev, done: false };
          if (this.closed || !this.subscribers.has(sub)) return { value: undefined, done: true };
          await new Promise<void>((resolve) => {
            sub.wake = resolve;
          });
          sub.wake = undefined;
        }
      },
      return: async () => {
        this.subscribers.delete(sub);
        sub.queue.length = 0;
        sub.wake?.();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /**
   * Resolves with the next event named `name` (whose data satisfies `predicate`, if given). Rejects with
   * QmpTimeoutError after `timeoutMs`, and with QmpConnectionClosedError if the connection closes first.
   */
  waitForEvent<E extends EventName>(
    name: E,
    predicate?: (data: EventData<E>, ev: TypedEvent<E>) => boolean,
    timeoutMs?: number,
    options?: WaitForEventOptions,
  ): Promise<TypedEvent<E>>;
  waitForEvent(
    name: string,
    predicate?: (data: Record<string, unknown>, ev: ReceivedEvent) => boolean,
    timeoutMs?: number,
    options?: WaitForEventOptions,
  ): Promise<ReceivedEvent>;
  waitForEvent(
    name: string,
    predicate?: (data: never, ev: never) => boolean,
    timeoutMs?: number,
    options: WaitForEventOptions = {},
  ): Promise<ReceivedEvent> {
    const pred = predicate as ((data: never, ev: ReceivedEvent) => boolean) | undefined;
    if (options.after !== undefined) {
      for (const ev of this.history) {
        if (ev.seq > options.after && ev.event === name && (!pred || pred(ev.data as never, ev))) {
          return Promise.resolve(ev);
        }
      }
    }
    if (this.closed) {
      return Promise.reject(
        new QmpConnectionClosedError(`QMP connection to ${this.label} is closed; cannot wait for event '${name}'`),
      );
    }
    return new Promise<ReceivedEvent>((resolve, reject) => {
      const waiter: EventWaiter = { name, predicate: pred, resolve, reject, timer: undefined };
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new QmpTimeoutError(`QMP event '${name}' did not arrive from ${this.label} within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.waiters.add(waiter);
    });
  }

  /** Closes the connection; whatever is still waiting rejects with QmpConnectionClosedError. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closeCause ??= new Error('closed by the client');
      this.socket.end();
      const guard = setTimeout(() => this.socket.destroy(), 1000);
      await this.closedPromise;
      clearTimeout(guard);
    }
  }

  /** Resolves when the connection is gone. */
  waitClosed(): Promise<void> {
    return this.closedPromise;
  }

  private readGreeting(): Promise<QmpGreeting> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new QmpConnectionClosedError(`QMP connection to ${this.label} closed before the greeting`, { cause: this.closeCause }));
        return;
      }
      this.greetingWaiter = { resolve, reject };
    });
  }

  private onData(chunk: Buffer): void {
    let lines: string[];
    try {
      lines = this.decoder.push(chunk);
    } catch (err) {
      this.fail(new QmpProtocolError(`QMP peer ${this.label}: ${(err as Error).message}`, { cause: err }));
      return;
    }
    for (const line of lines) {
      if (line.trim() === '') continue;
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch (err) {
        this.fail(new QmpProtocolError(`QMP peer ${this.label} sent a line that is not JSON: ${line.slice(0, 200)}`, { cause: err }));
        return;
      }
      this.onMessage(msg);
      if (this.closed) return;
    }
  }

  private onMessage(msg: unknown): void {
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      this.fail(new QmpProtocolError(`QMP peer ${this.label} sent a message that is not an object: ${JSON.stringify(msg).slice(0, 200)}`));
      return;
    }
    const m = msg as Record<string, unknown>;
    if (this.greetingWaiter) {
      const waiter = this.greetingWaiter;
      this.greetingWaiter = undefined;
      const g = QmpGreetingSchema.safeParse(m);
      if (!g.success) {
        const err = new QmpProtocolError(
          `QMP peer ${this.label} did not start with a greeting: ${JSON.stringify(m).slice(0, 200)}`,
        );
        waiter.reject(err);
        this.fail(err);
        return;
      }
      waiter.resolve(m as unknown as QmpGreeting);
      return;
    }
    if (typeof m['event'] === 'string') {
      this.onEvent(m);
      return;
    }
    if ('return' in m || 'error' in m) {
      this.onResponse(m);
      return;
    }
    // Anything else is ignored: QMP peers may add message kinds we do not use.
  }

  private onResponse(m: Record<string, unknown>): void {
    let entry: Pending | undefined;
    let id: number | undefined;
    if (typeof m['id'] === 'number' && this.pending.has(m['id'])) {
      id = m['id'];
      entry = this.pending.get(id);
    } else if (!('id' in m)) {
      // An error without id answers input the server could not parse; QEMU answers in order, so it is the oldest.
      const first = this.pending.entries().next();
      if (!first.done) [id, entry] = first.value;
    }
    if (!entry || id === undefined) return; // a reply to a request that timed out
    this.pending.delete(id);
    if (entry.timer) clearTimeout(entry.timer);
    if ('error' in m) {
      const e = m['error'] as { class?: unknown; desc?: unknown } | null;
      entry.reject(new QmpError(String(e?.class ?? 'GenericError'), String(e?.desc ?? JSON.stringify(e))));
    } else {
      entry.resolve(m['return']);
    }
  }

  private onEvent(m: Record<string, unknown>): void {
    const name = m['event'] as string;
    const rawData = m['data'];
    const data = rawData !== null && typeof rawData === 'object' && !Array.isArray(rawData) ? (rawData as Record<string, unknown>) : {};
    const ts = m['timestamp'] as QmpTimestamp | undefined;
    const ev: ReceivedEvent = {
      event: name,
      data,
      timestamp: ts ?? { seconds: -1, microseconds: -1 },
      seq: ++this.seq,
    };
    this.history.push(ev);
    if (this.history.length > HISTORY_LIMIT) this.history.shift();
    for (const sub of this.subscribers) {
      sub.queue.push(ev);
      sub.wake?.();
    }
    for (const w of this.waiters) {
      if (w.name !== name) continue;
      if (isEventName(name)) {
        const parsed = eventSchemas[name].safeParse(data);
        if (!parsed.success) {
          this.settleWaiter(w);
          w.reject(new QmpProtocolError(`event '${name}' from ${this.label} does not match its schema: ${describeZodError(parsed.error)}`));
          continue;
        }
      }
      let match: boolean;
      try {
        match = !w.predicate || w.predicate(data as never, ev);
      } catch (err) {
        this.settleWaiter(w);
        w.reject(err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      if (match) {
        this.settleWaiter(w);
        w.resolve(ev);
      }
    }
  }

  private settleWaiter(w: EventWaiter): void {
    this.waiters.delete(w);
    if (w.timer) clearTimeout(w.timer);
  }

  private fail(err: Error): void {
    this.closeCause ??= err;
    this.socket.destroy();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    const cause = this.closeCause;
    const why = cause ? ` (${cause.message})` : '';
    if (this.greetingWaiter) {
      this.greetingWaiter.reject(
        new QmpConnectionClosedError(`QMP connection to ${this.label} closed before the greeting${why}`, { cause }),
      );
      this.greetingWaiter = undefined;
    }
    for (const entry of this.pending.values()) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.reject(
        new QmpConnectionClosedError(
          `QMP connection to ${this.label} closed while waiting for reply to '${entry.name}'${why}`,
          { cause },
        ),
      );
    }
    this.pending.clear();
    for (const w of this.waiters) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(
        new QmpConnectionClosedError(`QMP connection to ${this.label} closed while waiting for event '${w.name}'${why}`, { cause }),
      );
    }
    this.waiters.clear();
    for (const sub of this.subscribers) sub.wake?.();
    this.subscribers.clear();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new QmpTimeoutError(message)), Math.max(1, ms));
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function connectOnce(endpoint: QmpEndpoint, label: string, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      endpoint.kind === 'unix' ? net.connect({ path: endpoint.path }) : net.connect({ host: endpoint.host, port: endpoint.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new QmpTimeoutError(`QMP connect to ${label} timed out`));
    }, Math.max(1, timeoutMs));
    const onError = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

async function openSocket(endpoint: QmpEndpoint, label: string, deadline: number, retry: boolean): Promise<net.Socket> {
  for (;;) {
    try {
      return await connectOnce(endpoint, label, deadline - Date.now());
    } catch (err) {
      if (err instanceof QmpTimeoutError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      const retriable = code === 'ENOENT' || code === 'ECONNREFUSED';
      if (!retry || !retriable || Date.now() + 50 >= deadline) {
        throw new QmpConnectionClosedError(`QMP connect to ${label} failed: ${(err as Error).message}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** True if `ev` is the named known event (narrows its data type). */
export function isEvent<E extends EventName>(ev: ReceivedEvent, name: E): ev is TypedEvent<E> {
  return ev.event === name;
}

export type { CommandsWithOptionalArgs };
