import net from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stubHandlers, tempDir } from '../test/support.js';
import { QmpClient, isEvent } from './client.js';
import { QmpConnectionClosedError, QmpError, QmpProtocolError, QmpTimeoutError } from './errors.js';
import { QmpServer } from './server.js';

const GREETING = '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "t"}, "capabilities": ["oob"]}}\n';

let tmp: ReturnType<typeof tempDir>;
let sock: string;
const cleanups: (() => unknown)[] = [];

beforeEach(() => {
  tmp = tempDir();
  sock = join(tmp.dir, 'q.sock');
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  tmp.cleanup();
});

/** A scripted peer: greets (unless told not to), answers qmp_capabilities, hands other requests to `onRequest`. */
async function fakePeer(
  onRequest: (req: { execute: string; id: unknown; arguments?: unknown }, socket: net.Socket) => void,
  opts: { greet?: boolean } = {},
): Promise<net.Server> {
  const srv = net.createServer((s) => {
    s.on('error', () => {});
    if (opts.greet !== false) s.write(GREETING);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const req = JSON.parse(buf.slice(0, nl)) as { execute: string; id: unknown };
        buf = buf.slice(nl + 1);
        if (req.execute === 'qmp_capabilities') s.write(`${JSON.stringify({ return: {}, id: req.id })}\n`);
        else onRequest(req, s);
      }
    });
  });
  await new Promise<void>((r) => srv.listen(sock, r));
  cleanups.push(() => new Promise((r) => srv.close(r)));
  return srv;
}

async function connect(): Promise<QmpClient> {
  const c = await QmpClient.connect(`unix:${sock}`, { timeoutMs: 5000 });
  cleanups.push(() => c.close());
  return c;
}

describe('QmpClient against a scripted peer', () => {
  it('exposes the greeting and matches replies by id even when they come out of order', async () => {
    const held: { id: unknown; execute: string }[] = [];
    await fakePeer((req, s) => {
      held.push(req);
      if (held.length === 3) {
        for (const r of held.reverse()) s.write(`${JSON.stringify({ return: { status: r.execute === 'query-status' ? 'running' : 'x' }, id: r.id })}\n`);
      }
    });
    const c = await connect();
    expect(c.greeting.QMP.version.package).toBe('t');
    const replies = await Promise.all([
      c.execute('a-cmd'),
      c.execute('query-status'),
      c.execute('b-cmd'),
    ]);
    expect(replies).toEqual([{ status: 'x' }, { status: 'running' }, { status: 'x' }]);
  });

  it('an error reply rejects with QmpError carrying class and desc', async () => {
    await fakePeer((req, s) => s.write(`${JSON.stringify({ id: req.id, error: { class: 'DeviceNotFound', desc: 'no such thing' } })}\n`));
    const c = await connect();
    const err = await c.execute('query-status').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpError);
    expect(err).toMatchObject({ errorClass: 'DeviceNotFound', desc: 'no such thing' });
  });

  it('typed methods validate the reply with the command schema', async () => {
    await fakePeer((req, s) => s.write(`${JSON.stringify({ return: { status: 'warp-speed', running: true, singlestep: false }, id: req.id })}\n`));
    const c = await connect();
    const err = await c.queryStatus().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpProtocolError);
    expect((err as Error).message).toMatch(/^reply to 'query-status' from unix:.* does not match its schema: status:/);
  });

  it('when the peer dies, every pending execute rejects with a clear error', async () => {
    let n = 0;
    await fakePeer((_req, s) => {
      if (++n === 2) s.destroy();
    });
    const c = await connect();
    const a = c.execute('query-migrate').catch((e: unknown) => e);
    const b = c.execute('query-status').catch((e: unknown) => e);
    const ev = c.waitForEvent('MIGRATION').catch((e: unknown) => e);
    const [ea, eb, ee] = await Promise.all([a, b, ev]);
    expect(ea).toBeInstanceOf(QmpConnectionClosedError);
    expect((ea as Error).message).toBe(`QMP connection to unix:${sock} closed while waiting for reply to 'query-migrate'`);
    expect((eb as Error).message).toBe(`QMP connection to unix:${sock} closed while waiting for reply to 'query-status'`);
    expect((ee as Error).message).toBe(`QMP connection to unix:${sock} closed while waiting for event 'MIGRATION'`);
    expect(c.isClosed).toBe(true);
    await expect(c.execute('query-status')).rejects.toThrow(`QMP connection to unix:${sock} is closed; cannot execute 'query-status'`);
  });

  it('a peer that never greets times out; a missing socket fails at once naming it', async () => {
    await fakePeer(() => {}, { greet: false });
    await expect(QmpClient.connect({ kind: 'unix', path: sock }, { timeoutMs: 100 })).rejects.toBeInstanceOf(QmpTimeoutError);
    const missing = join(tmp.dir, 'missing.sock');
    await expect(QmpClient.connect({ kind: 'unix', path: missing })).rejects.toThrow(`QMP connect to unix:${missing} failed: `);
  });

  it('a first message that is not a greeting is a protocol error', async () => {
    const srv = net.createServer((s) => s.end('{"return": {}}\n'));
    await new Promise<void>((r) => srv.listen(sock, r));
    cleanups.push(() => new Promise((r) => srv.close(r)));
    await expect(QmpClient.connect(`unix:${sock}`)).rejects.toThrow(/did not start with a greeting/);
  });

  it('execute timeoutMs rejects with QmpTimeoutError; a late reply is ignored', async () => {
    const ids: unknown[] = [];
    await fakePeer((req, s) => {
      ids.push(req.id);
      // the first request is never answered in time; when the second comes, answer the first late, then it
      if (ids.length === 2) {
        s.write(`${JSON.stringify({ return: { late: true }, id: ids[0] })}\n`);
        s.write(`${JSON.stringify({ return: { ok: 1 }, id: req.id })}\n`);
      }
    });
    const c = await connect();
    await expect(c.execute('query-status', undefined, { timeoutMs: 20 })).rejects.toBeInstanceOf(QmpTimeoutError);
    expect(await c.execute('query-status')).toEqual({ ok: 1 });
  });
});

describe('QmpClient against QmpServer', () => {
  let server: QmpServer;
  beforeEach(async () => {
    server = new QmpServer({
      handlers: stubHandlers({
        'query-migrate': () => ({ status: 'active', 'total-time': 5 }),
        migrate: (args) => {
          if (args.uri === 'bad:') throw new Error('bad URI');
        },
      }),
      log: () => {},
    });
    await server.listen({ kind: 'unix', path: sock });
    cleanups.push(() => server.close());
  });

  it('negotiates and runs typed commands', async () => {
    const c = await connect();
    expect(c.greeting.QMP.capabilities).toEqual(['oob']);
    expect(await c.queryStatus()).toEqual({ status: 'prelaunch', running: false, singlestep: false });
    expect(await c.queryMigrate()).toEqual({ status: 'active', 'total-time': 5 });
    expect(await c.migrate({ uri: 'tcp:127.0.0.1:1' })).toEqual({});
    expect(await c.queryMigrateCacheSize()).toBe(67108864);
    await expect(c.migrate({ uri: 'bad:' })).rejects.toMatchObject({ errorClass: 'GenericError', desc: 'bad URI' });
    await expect(c.pmemsave({ val: 1.5, size: 1, filename: 'f' })).rejects.toMatchObject({
      desc: "Invalid parameter type for 'val', expected: integer",
    });
  });

  it('events(): typed iteration that ends when the connection closes', async () => {
    const c = await connect();
    const it = c.events();
    server.emit('MIGRATION', { status: 'setup' });
    server.emit('STOP');
    const first = await it.next();
    expect(first.done).toBe(false);
    const ev = first.value!;
    expect(isEvent(ev, 'MIGRATION') && ev.data.status).toBe('setup');
    expect((await it.next()).value).toMatchObject({ event: 'STOP', data: {}, seq: 2 });
    await server.close();
    expect((await it.next()).done).toBe(true);
  });

  it('waitForEvent: predicate, timeout, and `after` for events that came with the reply', async () => {
    const c = await connect();
    const done = c.waitForEvent('MIGRATION', (d) => d.status === 'completed', 5000);
    server.emit('MIGRATION', { status: 'active' });
    server.emit('MIGRATION', { status: 'completed' });
    expect((await done).data).toEqual({ status: 'completed' });
    await expect(c.waitForEvent('RESUME', undefined, 10)).rejects.toThrow("QMP event 'RESUME' did not arrive");
    const mark = c.eventCount;
    server.emit('RESUME');
    await c.queryStatus(); // the event is now in the past
    expect((await c.waitForEvent('RESUME', undefined, 1000, { after: mark })).seq).toBe(mark + 1);
  });

  it('waitForSocket connects once the server appears', async () => {
    const late = join(tmp.dir, 'late.sock');
    const pending = QmpClient.connect({ kind: 'unix', path: late }, { waitForSocket: true, timeoutMs: 5000 });
    await server.listen({ kind: 'unix', path: late });
    const c = await pending;
    cleanups.push(() => c.close());
    expect((await c.queryVersion()).package).toBe('mig');
  });

  it('close() rejects what is pending and later calls', async () => {
    const c = await connect();
    await c.close();
    await expect(c.queryStatus()).rejects.toBeInstanceOf(QmpConnectionClosedError);
    await expect(c.waitForEvent('STOP')).rejects.toBeInstanceOf(QmpConnectionClosedError);
  });
});
