import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';
import { RawPeer, stubHandlers, tempDir } from '../test/support.js';
import { commandNames, type CommandName } from './commands/registry.js';
import { QmpError } from './errors.js';
import { QmpServer, type QmpHandlers } from './server.js';

let tmp: ReturnType<typeof tempDir>;
let server: QmpServer;
let sock: string;
let logs: { level: string; message: string; err: unknown }[];
const peers: RawPeer[] = [];

function start(handlers: Partial<QmpHandlers> = {}, extra: { maxLineBytes?: number; exact?: boolean } = {}) {
  const { exact, ...rest } = extra;
  server = new QmpServer({
    handlers: exact ? (handlers as QmpHandlers) : stubHandlers(handlers),
    log: (level, message, err) => logs.push({ level, message, err }),
    ...rest,
  });
}

async function peer(): Promise<RawPeer> {
  const p = await RawPeer.connect({ path: sock });
  peers.push(p);
  return p;
}

async function negotiated(): Promise<RawPeer> {
  const p = await peer();
  await p.negotiate();
  return p;
}

beforeEach(async () => {
  tmp = tempDir();
  logs = [];
  sock = join(tmp.dir, 'qmp.sock');
  start();
  await server.listen({ kind: 'unix', path: sock });
});

afterEach(async () => {
  for (const p of peers.splice(0)) p.destroy();
  await server.close();
  tmp.cleanup();
});

async function restart(handlers: Partial<QmpHandlers>, extra: { maxLineBytes?: number; exact?: boolean } = {}) {
  await server.close();
  start(handlers, extra);
  await server.listen({ kind: 'unix', path: sock });
}

describe('greeting and negotiation', () => {
  it('greets with the configured version and the oob capability', async () => {
    const p = await peer();
    expect(await p.next()).toEqual({
      QMP: { version: { qemu: { micro: 0, minor: 2, major: 7 }, package: 'mig' }, capabilities: ['oob'] },
    });
  });

  it('refuses every other command, known or not, before qmp_capabilities', async () => {
    const p = await peer();
    await p.next();
    for (const cmd of ['query-status', 'no-such-command', 'query-commands']) {
      expect(await p.request(`{"execute":"${cmd}","id":1}`)).toEqual({
        id: 1,
        error: { class: 'CommandNotFound', desc: "Expecting capabilities negotiation with 'qmp_capabilities'" },
      });
    }
    expect(await p.request('{"execute":"qmp_capabilities","id":"n"}')).toEqual({ return: {}, id: 'n' });
    expect(await p.request('{"execute":"query-status"}')).toEqual({
      return: { status: 'prelaunch', running: false, singlestep: false },
    });
  });

  it('a second qmp_capabilities is CommandNotFound, its arguments still checked first', async () => {
    const p = await negotiated();
    expect(await p.request('{"execute":"qmp_capabilities","id":{"a":[1]}}')).toEqual({
      id: { a: [1] },
      error: { class: 'CommandNotFound', desc: 'Capabilities negotiation is already complete, command ignored' },
    });
    expect(await p.request('{"execute":"qmp_capabilities","arguments":{"foo":1}}')).toEqual({
      error: { class: 'GenericError', desc: "Parameter 'foo' is unexpected" },
    });
  });

  it('qmp_capabilities accepts enable:["oob"] and then exec-oob is known (but no command supports it)', async () => {
    const p = await peer();
    await p.next();
    expect(await p.request('{"exec-oob":"query-status"}')).toEqual({
      error: { class: 'GenericError', desc: "QMP input member 'exec-oob' is unexpected" },
    });
    expect(await p.request('{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}')).toEqual({ return: {} });
    expect(await p.request('{"exec-oob":"query-status","id":2}')).toEqual({
      id: 2,
      error: { class: 'GenericError', desc: 'The command query-status does not support OOB' },
    });
    expect(await p.request('{"execute":"query-status","exec-oob":"x"}')).toEqual({
      error: { class: 'GenericError', desc: "QMP input member 'execute' clashes with 'exec-oob'" },
    });
  });

  it('qmp_capabilities refuses an unknown capability', async () => {
    const p = await peer();
    await p.next();
    expect(await p.request('{"execute":"qmp_capabilities","arguments":{"enable":["x"]}}')).toEqual({
      error: { class: 'GenericError', desc: "Parameter 'null' does not accept value 'x'" },
    });
  });
});

describe('request checks (QEMU 7.2 wording)', () => {
  it('echoes any JSON id, on success and on error', async () => {
    const p = await negotiated();
    for (const id of [0, -5, 1.5, 'x', null, true, [1, 'a'], { deep: { x: [null] } }]) {
      const line = JSON.stringify({ execute: 'query-migrate', id });
      expect(await p.request(line)).toEqual({ return: {}, id });
      expect(await p.request(JSON.stringify({ execute: 'nope', id }))).toEqual({
        id,
        error: { class: 'CommandNotFound', desc: 'The command nope has not been found' },
      });
    }
  });

  it('bad JSON is a GenericError and the connection stays usable', async () => {
    const p = await negotiated();
    for (const bad of ['foo', '{"execute":', '{"a":1} {"b":2}', '{"execute":"query-status",}']) {
      const r = await p.request(bad);
      expect(r).not.toHaveProperty('id');
      expect(r['error']).toMatchObject({ class: 'GenericError' });
      expect((r['error'] as { desc: string }).desc).toMatch(/^JSON parse error, ./);
    }
    expect(await p.request('{"execute":"query-migrate","id":9}')).toEqual({ return: {}, id: 9 });
  });

  it.each([
    ['[1]', { error: { class: 'GenericError', desc: 'QMP input must be a JSON object' } }],
    ['3', { error: { class: 'GenericError', desc: 'QMP input must be a JSON object' } }],
    ['"s"', { error: { class: 'GenericError', desc: 'QMP input must be a JSON object' } }],
    ['null', { error: { class: 'GenericError', desc: 'QMP input must be a JSON object' } }],
    ['{"id":5}', { id: 5, error: { class: 'GenericError', desc: "QMP input lacks member 'execute'" } }],
    ['{"execute":"query-status","foo":1}', { error: { class: 'GenericError', desc: "QMP input member 'foo' is unexpected" } }],
    ['{"execute":"query-status","foo":1,"id":3}', { id: 3, error: { class: 'GenericError', desc: "QMP input member 'foo' is unexpected" } }],
    ['{"execute":1}', { error: { class: 'GenericError', desc: "QMP input member 'execute' must be a string" } }],
    ['{"execute":"query-status","arguments":[]}', { error: { class: 'GenericError', desc: "QMP input member 'arguments' must be an object" } }],
    ['{"execute":"query-status","arguments":null}', { error: { class: 'GenericError', desc: "QMP input member 'arguments' must be an object" } }],
    ['{"execute":"query-status","arguments":{"a":1}}', { error: { class: 'GenericError', desc: "Parameter 'a' is unexpected" } }],
    ['{"execute":"nope"}', { error: { class: 'CommandNotFound', desc: 'The command nope has not been found' } }],
  ])('%s', async (line, expected) => {
    const p = await negotiated();
    expect(await p.request(line)).toEqual(expected);
  });

  it('a line longer than the bound gets QEMU\'s size error and is dropped; the connection goes on', async () => {
    await restart({}, { maxLineBytes: 4096 });
    const p = await negotiated();
    const other = await negotiated();
    p.send(`{"execute":"query-migrate","id":1}\n{"execute":"human-monitor-command","arguments":{"command-line":"${'x'.repeat(10_000)}"}}`);
    expect(await p.next()).toEqual({ return: {}, id: 1 });
    expect(await p.next()).toEqual({
      error: { class: 'GenericError', desc: 'JSON token size limit exceeded (a request line may hold at most 4096 bytes)' },
    });
    expect(await p.request('{"execute":"query-migrate","id":2}')).toEqual({ return: {}, id: 2 });
    expect(await other.request('{"execute":"query-migrate"}')).toEqual({ return: {} });
    expect(logs.some((l) => l.message.includes('a request line over 4096 bytes'))).toBe(true);
  });
});

/**
 * Every member of every command, as QEMU 7.2 types it (see test/qemu.test.ts and qapi/migration.json v7.2.0):
 * a wrong value for each, and the exact desc QEMU answers with. Written out independently of the schemas.
 */
type QType = 'str' | 'bool' | 'int' | 'number' | 'uint64' | 'uint8' | 'uint32' | 'StrOrNull' | 'enum' | 'array';
const members: Record<CommandName, { required: Record<string, QType>; optional: Record<string, QType> }> = {
  qmp_capabilities: { required: {}, optional: { enable: 'array' } },
  'query-version': { required: {}, optional: {} },
  'query-commands': { required: {}, optional: {} },
  'query-status': { required: {}, optional: {} },
  stop: { required: {}, optional: {} },
  cont: { required: {}, optional: {} },
  quit: { required: {}, optional: {} },
  migrate: { required: { uri: 'str' }, optional: { blk: 'bool', inc: 'bool', detach: 'bool', resume: 'bool' } },
  'migrate-incoming': { required: { uri: 'str' }, optional: {} },
  migrate_cancel: { required: {}, optional: {} },
  'query-migrate': { required: {}, optional: {} },
  'migrate-set-capabilities': { required: { capabilities: 'array' }, optional: {} },
  'query-migrate-capabilities': { required: {}, optional: {} },
  'migrate-set-parameters': {
    required: {},
    optional: {
      'announce-initial': 'uint64', 'announce-max': 'uint64', 'announce-rounds': 'uint64', 'announce-step': 'uint64',
      'compress-level': 'uint8', 'compress-threads': 'uint8', 'compress-wait-thread': 'bool',
      'decompress-threads': 'uint8', 'throttle-trigger-threshold': 'uint8', 'cpu-throttle-initial': 'uint8',
      'cpu-throttle-increment': 'uint8', 'cpu-throttle-tailslow': 'bool', 'tls-creds': 'StrOrNull',
      'tls-hostname': 'StrOrNull', 'tls-authz': 'StrOrNull', 'max-bandwidth': 'uint64', 'downtime-limit': 'uint64',
      'x-checkpoint-delay': 'uint32', 'block-incremental': 'bool', 'multifd-channels': 'uint8',
      'xbzrle-cache-size': 'uint64', 'max-postcopy-bandwidth': 'uint64', 'max-cpu-throttle': 'uint8',
      'multifd-compression': 'enum', 'multifd-zlib-level': 'uint8', 'multifd-zstd-level': 'uint8',
      'x-stall-timeout': 'uint64', 'block-bitmap-mapping': 'array',
    },
  },
  'query-migrate-parameters': { required: {}, optional: {} },
  migrate_set_speed: { required: { value: 'int' }, optional: {} },
  migrate_set_downtime: { required: { value: 'number' }, optional: {} },
  'migrate-set-cache-size': { required: { value: 'int' }, optional: {} },
  'query-migrate-cache-size': { required: {}, optional: {} },
  pmemsave: { required: { val: 'int', size: 'int', filename: 'str' }, optional: { 'cpu-index': 'int' } },
  'human-monitor-command': { required: { 'command-line': 'str' }, optional: { 'cpu-index': 'int' } },
  'query-block': { required: {}, optional: {} },
  'x-mig-workload': { required: { action: 'enum' }, optional: { 'dirty-rate': 'uint64', wss: 'uint64', offset: 'uint64', pattern: 'enum' } },
  'x-mig-query-workload': { required: {}, optional: {} },
  'x-mig-write': { required: { address: 'uint64', data: 'str' }, optional: { encoding: 'enum' } },
  'x-mig-query-progress': { required: {}, optional: {} },
  'x-mig-disk-workload': {
    required: { drive: 'str', action: 'enum' },
    optional: { rate: 'uint64', offset: 'uint64', length: 'uint64', pattern: 'enum', block: 'uint64' },
  },
  'x-mig-query-disk-workload': { required: {}, optional: {} },
  getfd: { required: { fdname: 'str' }, optional: {} },
  closefd: { required: { fdname: 'str' }, optional: {} },
  // ObjectOptions is a union on qom-type: the members beyond these belong to the type (checked by the daemon)
  'object-add': { required: { 'qom-type': 'str', id: 'str' }, optional: {} },
  'object-del': { required: { id: 'str' }, optional: {} },
};

const goodValue: Record<QType, unknown> = {
  str: 's', bool: true, int: 1, number: 0.5, uint64: 1, uint8: 1, uint32: 1, StrOrNull: null, enum: 'none', array: [],
};
const badValues: Record<QType, [unknown, (n: string) => string][]> = {
  str: [[1, (n) => `Invalid parameter type for '${n}', expected: string`], [null, (n) => `Invalid parameter type for '${n}', expected: string`]],
  bool: [['x', (n) => `Invalid parameter type for '${n}', expected: boolean`], [1, (n) => `Invalid parameter type for '${n}', expected: boolean`]],
  int: [[1.5, (n) => `Invalid parameter type for '${n}', expected: integer`], ['1', (n) => `Invalid parameter type for '${n}', expected: integer`]],
  number: [['x', (n) => `Invalid parameter type for '${n}', expected: number`], [true, (n) => `Invalid parameter type for '${n}', expected: number`]],
  uint64: [['x', (n) => `Parameter '${n}' expects uint64`], [1.5, (n) => `Parameter '${n}' expects uint64`], [true, (n) => `Parameter '${n}' expects uint64`]],
  uint8: [[256, (n) => `Parameter '${n}' expects uint8_t`], [-1, (n) => `Parameter '${n}' expects uint8_t`], [1.5, (n) => `Parameter '${n}' expects uint64`]],
  uint32: [[4294967296, (n) => `Parameter '${n}' expects uint32_t`], [-1, (n) => `Parameter '${n}' expects uint32_t`], ['x', (n) => `Parameter '${n}' expects uint64`]],
  StrOrNull: [[1.5, (n) => `Invalid parameter type for '${n}', expected: StrOrNull`], [true, (n) => `Invalid parameter type for '${n}', expected: StrOrNull`]],
  enum: [['foo', (n) => `Parameter '${n}' does not accept value 'foo'`], [1, (n) => `Invalid parameter type for '${n}', expected: string`]],
  array: [[{}, (n) => `Invalid parameter type for '${n}', expected: array`], [1, (n) => `Invalid parameter type for '${n}', expected: array`]],
};

function validArgs(name: CommandName): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, t] of Object.entries(members[name].required)) out[k] = goodValue[t];
  if (name === 'x-mig-workload' || name === 'x-mig-disk-workload') out.action = 'stop'; // its enum has no 'none'
  return out;
}

const cases: [string, Record<string, unknown>, string][] = [];
for (const name of commandNames) {
  const m = members[name];
  for (const [member, t] of [...Object.entries(m.required), ...Object.entries(m.optional)]) {
    for (const [bad, desc] of badValues[t]) {
      cases.push([name, { ...validArgs(name), [member]: bad }, desc(member)]);
    }
  }
  for (const member of Object.keys(m.required)) {
    const args = validArgs(name);
    delete args[member];
    cases.push([name, args, `Parameter '${member}' is missing`]);
  }
  // object-add's further members are the type's own: the daemon refuses unknown ones ("Parameter 'X' is unexpected")
  if (name !== 'object-add') cases.push([name, { ...validArgs(name), bogus: 1 }, "Parameter 'bogus' is unexpected"]);
}

describe('argument errors for every command', () => {
  it('the table covers exactly the registry', () => {
    expect(Object.keys(members).sort()).toEqual([...commandNames].sort());
  });

  it.each(cases)('%s %j → %s', async (name, args, desc) => {
    const calls: string[] = [];
    const handlers = Object.fromEntries(
      Object.entries(stubHandlers()).map(([k, fn]) => [k, (...a: unknown[]) => (calls.push(k), (fn as (...x: unknown[]) => unknown)(...a))]),
    ) as unknown as QmpHandlers;
    await restart(handlers);
    const p = name === 'qmp_capabilities' ? await peer() : await negotiated();
    if (name === 'qmp_capabilities') await p.next();
    expect(await p.request(JSON.stringify({ execute: name, arguments: args, id: 'a' }))).toEqual({
      id: 'a',
      error: { class: 'GenericError', desc },
    });
    expect(calls).toEqual([]);
  });

  it('nested members are named as QEMU names them', async () => {
    const p = await negotiated();
    const ask = (caps: unknown) =>
      p.request(JSON.stringify({ execute: 'migrate-set-capabilities', arguments: { capabilities: caps } }));
    expect(await ask([{ capability: 'nope', state: true }])).toEqual({
      error: { class: 'GenericError', desc: "Parameter 'capability' does not accept value 'nope'" },
    });
    expect(await ask([{ capability: 'xbzrle' }])).toEqual({
      error: { class: 'GenericError', desc: "Parameter 'capabilities[0].state' is missing" },
    });
    expect(await ask([{ capability: 'xbzrle', state: true }, { capability: 'xbzrle', state: 1 }])).toEqual({
      error: { class: 'GenericError', desc: "Invalid parameter type for 'capabilities[1].state', expected: boolean" },
    });
    expect(await ask([1])).toEqual({
      error: { class: 'GenericError', desc: "Invalid parameter type for 'capabilities[0]', expected: object" },
    });
    expect(await ask([{ capability: 'xbzrle', state: true, x: 1 }])).toEqual({
      error: { class: 'GenericError', desc: "Parameter 'capabilities[0].x' is unexpected" },
    });
  });

  it('valid arguments reach the handler, validated and typed', async () => {
    const seen: unknown[] = [];
    await restart({
      migrate: (args) => {
        seen.push(args);
      },
      'migrate-set-parameters': (args) => {
        seen.push(args);
      },
    });
    const p = await negotiated();
    expect(await p.request('{"execute":"migrate","arguments":{"uri":"tcp:127.0.0.1:4444","blk":false}}')).toEqual({ return: {} });
    expect(await p.request('{"execute":"migrate-set-parameters","arguments":{"tls-creds":null,"max-bandwidth":-1,"cpu-throttle-initial":255}}')).toEqual({ return: {} });
    expect(seen).toEqual([
      { uri: 'tcp:127.0.0.1:4444', blk: false },
      { 'tls-creds': null, 'max-bandwidth': -1, 'cpu-throttle-initial': 255 },
    ]);
  });
});

describe('handlers', () => {
  it('QmpError becomes that error; other throws become GenericError and are logged', async () => {
    await restart({
      migrate: () => {
        throw new QmpError('GenericError', 'There is already a migration in progress');
      },
      'migrate-incoming': async () => {
        throw new QmpError('DeviceNotFound', 'nope');
      },
      cont: () => {
        throw new Error('boom');
      },
      stop: () => Promise.reject(new TypeError('async boom')),
      quit: () => {
        throw 'a string';
      },
    });
    const p = await negotiated();
    expect(await p.request('{"execute":"migrate","arguments":{"uri":"x"},"id":1}')).toEqual({
      id: 1,
      error: { class: 'GenericError', desc: 'There is already a migration in progress' },
    });
    expect(await p.request('{"execute":"migrate-incoming","arguments":{"uri":"x"}}')).toEqual({
      error: { class: 'DeviceNotFound', desc: 'nope' },
    });
    expect(await p.request('{"execute":"cont"}')).toEqual({ error: { class: 'GenericError', desc: 'boom' } });
    expect(await p.request('{"execute":"stop"}')).toEqual({ error: { class: 'GenericError', desc: 'async boom' } });
    expect(await p.request('{"execute":"quit"}')).toEqual({ error: { class: 'GenericError', desc: 'a string' } });
    expect(logs.map((l) => l.message)).toEqual(['QMP command cont failed', 'QMP command stop failed', 'QMP command quit failed']);
    expect(await p.request('{"execute":"query-migrate"}')).toEqual({ return: {} });
  });

  it('a reply that does not match the schema is an error, not bad data on the wire', async () => {
    await restart({ 'query-status': () => ({ status: 'bogus' }) as never });
    const p = await negotiated();
    expect(await p.request('{"execute":"query-status"}')).toEqual({
      error: { class: 'GenericError', desc: 'internal error: reply to query-status does not match its schema' },
    });
    expect(logs).toHaveLength(1);
  });

  it('commands run one at a time per client, in order', async () => {
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await restart({
      migrate: async () => {
        order.push('migrate start');
        await gate;
        order.push('migrate end');
      },
      'query-migrate': () => {
        order.push('query-migrate');
        return { status: 'active' };
      },
    });
    const p = await negotiated();
    p.send('{"execute":"migrate","arguments":{"uri":"x"},"id":1}\n{"execute":"query-migrate","id":2}');
    await vi.waitFor(() => expect(order).toEqual(['migrate start']));
    release();
    expect(await p.next()).toEqual({ return: {}, id: 1 });
    expect(await p.next()).toEqual({ return: { status: 'active' }, id: 2 });
    expect(order).toEqual(['migrate start', 'migrate end', 'query-migrate']);
  });

  it('a client that disconnects mid-command is harmless: its signal aborts, others are served', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let signal: AbortSignal | undefined;
    let started!: () => void;
    const startedP = new Promise<void>((r) => (started = r));
    await restart({
      pmemsave: async (_args, ctx) => {
        signal = ctx.signal;
        started();
        await gate;
      },
    });
    const p = await negotiated();
    p.send('{"execute":"pmemsave","arguments":{"val":0,"size":4096,"filename":"/dev/null"}}');
    await startedP;
    p.destroy();
    await p.waitClosed();
    await vi.waitFor(() => expect(signal?.aborted).toBe(true));
    release();
    const q = await negotiated();
    expect(await q.request('{"execute":"query-migrate"}')).toEqual({ return: {} });
    expect(server.clientCount).toBe(1);
  });

  it('query-commands lists the registry', async () => {
    const p = await negotiated();
    const r = (await p.request('{"execute":"query-commands"}')) as { return: { name: string }[] };
    expect(r.return.map((c) => c.name).sort()).toEqual([...commandNames].sort());
  });

  it('a command whose handler is missing at run time is CommandNotFound', async () => {
    const h = stubHandlers() as Partial<QmpHandlers>;
    delete h.migrate_set_speed;
    await restart(h, { exact: true });
    const p = await negotiated();
    expect(await p.request('{"execute":"migrate_set_speed","arguments":{"value":1}}')).toEqual({
      error: { class: 'CommandNotFound', desc: 'The command migrate_set_speed has not been found' },
    });
    const r = (await p.request('{"execute":"query-commands"}')) as { return: { name: string }[] };
    expect(r.return.map((c) => c.name)).not.toContain('migrate_set_speed');
  });
});

describe('clients, listeners and events', () => {
  it('several listeners (unix and tcp) and several clients at once', async () => {
    const tcp = await server.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 });
    expect(tcp.endpoint.kind === 'tcp' && tcp.endpoint.port).toBeGreaterThan(0);
    const port = tcp.endpoint.kind === 'tcp' ? tcp.endpoint.port : 0;
    const a = await negotiated();
    const b = await RawPeer.connect({ host: '127.0.0.1', port });
    peers.push(b);
    await b.negotiate();
    const [ra, rb] = await Promise.all([a.request('{"execute":"query-status","id":"a"}'), b.request('{"execute":"query-status","id":"b"}')]);
    expect(ra['id']).toBe('a');
    expect(rb['id']).toBe('b');
    expect(server.clientCount).toBe(2);
  });

  it('events go to every negotiated client, not to one still negotiating', async () => {
    const a = await negotiated();
    const b = await negotiated();
    const c = await peer();
    await c.next();
    server.emit('MIGRATION', { status: 'active' });
    server.emit('STOP');
    server.emit('MIGRATION_PASS', { pass: 2 });
    server.emit('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
    for (const p of [a, b]) {
      const evs = [await p.next(), await p.next(), await p.next(), await p.next()];
      expect(evs.map((e) => [e['event'], e['data']])).toEqual([
        ['MIGRATION', { status: 'active' }],
        ['STOP', undefined],
        ['MIGRATION_PASS', { pass: 2 }],
        ['SHUTDOWN', { guest: false, reason: 'host-qmp-quit' }],
      ]);
      for (const e of evs) {
        const ts = e['timestamp'] as { seconds: number; microseconds: number };
        expect(Number.isInteger(ts.seconds) && ts.seconds > 1_600_000_000).toBe(true);
        expect(Number.isInteger(ts.microseconds) && ts.microseconds >= 0 && ts.microseconds < 1_000_000).toBe(true);
      }
      expect(Object.keys(evs[1] ?? {}).sort()).toEqual(['event', 'timestamp']);
    }
    // c sees nothing until it negotiates, then only later events
    expect(await c.request('{"execute":"qmp_capabilities"}')).toEqual({ return: {} });
    expect(c.pendingCount()).toBe(0);
    server.emit('RESUME');
    expect((await c.next())['event']).toBe('RESUME');
  });

  it('emit refuses data that does not match the event schema', () => {
    expect(() => server.emit('MIGRATION', { status: 'bogus' } as never)).toThrow(/MIGRATION: data does not match/);
  });

  it('a dead client does not disturb events to the others', async () => {
    const a = await negotiated();
    const b = await negotiated();
    a.destroy();
    await a.waitClosed();
    server.emit('RESUME');
    expect((await b.next())['event']).toBe('RESUME');
  });

  it('a stale unix socket file is replaced; listen errors name the address', async () => {
    await server.close();
    start();
    await server.listen({ kind: 'unix', path: sock });
    const p = await negotiated();
    expect(await p.request('{"execute":"query-migrate"}')).toEqual({ return: {} });
    await expect(server.listen({ kind: 'unix', path: join(tmp.dir, 'no', 'such', 'dir.sock') })).rejects.toThrow(
      /QMP server cannot listen on unix:.*dir\.sock/,
    );
  });
});
