// Descriptors sent with SCM_RIGHTS to the server's unix sockets: which request gets which, what is closed,
// and that nothing arrives over tcp. Handlers here only record what takeDescriptor() gives them.
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stubHandlers, tempDir } from '../test/support.js';
import { QmpClient } from './client.js';
import { QmpError } from './errors.js';
import { QmpServer, type QmpCommandContext } from './server.js';
import { closeDescriptor, pipePair } from './wire/descriptors.js';

let tmp: ReturnType<typeof tempDir>;
let server: QmpServer;
let sock: string;
/** What each getfd / query-status got: the descriptor (kept open until the test ends) or undefined. */
let taken: { command: string; name?: string; fd: number | undefined; monitor: number }[];
const opened: number[] = [];
const clients: QmpClient[] = [];

function record(command: string, name: string | undefined, ctx: QmpCommandContext): void {
  const fd = ctx.takeDescriptor();
  if (fd !== undefined) opened.push(fd);
  taken.push({ command, ...(name === undefined ? {} : { name }), fd, monitor: ctx.monitor });
}

beforeEach(async () => {
  tmp = tempDir();
  sock = join(tmp.dir, 'qmp.sock');
  taken = [];
  server = new QmpServer({
    handlers: stubHandlers({
      getfd: (args, ctx) => {
        record('getfd', args.fdname, ctx);
        if (taken.at(-1)?.fd === undefined) throw new QmpError('GenericError', 'No file descriptor supplied via SCM_RIGHTS');
      },
      'query-status': (_args, ctx) => {
        // a command that does not take descriptors: what came with it stays for a later getfd
        taken.push({ command: 'query-status', fd: undefined, monitor: ctx.monitor });
        return { status: 'prelaunch', running: false, singlestep: false };
      },
    }),
    log: () => {},
  });
  await server.listen({ kind: 'unix', path: sock });
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await server.close();
  for (const fd of opened.splice(0)) closeDescriptor(fd);
  tmp.cleanup();
});

async function connect(path = sock): Promise<QmpClient> {
  const c = await QmpClient.connect({ kind: 'unix', path });
  clients.push(c);
  return c;
}

/** A pipe whose write end we hand over; `read` tells what came through the server's copy. */
function pipe(): { read: number; write: number } {
  const p = pipePair();
  opened.push(p.read, p.write);
  return p;
}

function through(fd: number, p: { read: number }, text: string): string {
  writeSync(fd, text);
  const buf = Buffer.alloc(text.length);
  return buf.subarray(0, readSync(p.read, buf, 0, text.length, null)).toString();
}

/** True once every write end of the pipe is closed: its read end gives EOF (our own copy must be closed first). */
function writeEndsClosed(p: { read: number; write: number }): boolean {
  closeDescriptor(p.write);
  opened.splice(opened.indexOf(p.write), 1);
  const buf = Buffer.alloc(1);
  return readSync(p.read, buf, 0, 1, null) === 0;
}

describe('SCM_RIGHTS on the unix QMP socket', () => {
  it('getfd gets the descriptor sent with it: the same pipe, a new number', async () => {
    const c = await connect();
    const p = pipe();
    await c.getfd('mig', p.write);
    expect(taken).toHaveLength(1);
    const got = taken[0]!;
    expect(got).toMatchObject({ command: 'getfd', name: 'mig', monitor: 1 });
    expect(got.fd).not.toBe(p.write);
    expect(through(got.fd!, p, 'hello')).toBe('hello');
  });

  it('getfd without a descriptor gets none', async () => {
    const c = await connect();
    await expect(c.execute('getfd', { fdname: 'x' })).rejects.toThrow('No file descriptor supplied via SCM_RIGHTS');
    expect(taken).toEqual([{ command: 'getfd', name: 'x', fd: undefined, monitor: 1 }]);
  });

  it('pipelined getfd requests each get their own descriptor', async () => {
    const c = await connect();
    const pipes = [pipe(), pipe(), pipe()];
    await Promise.all(pipes.map((p, i) => c.getfd(`fd${i}`, p.write)));
    expect(taken.map((t) => t.name)).toEqual(['fd0', 'fd1', 'fd2']);
    pipes.forEach((p, i) => expect(through(taken[i]!.fd!, p, `pipe ${i}`)).toBe(`pipe ${i}`));
  });

  it('a descriptor sent with another command waits for the next getfd, as in QEMU', async () => {
    const c = await connect();
    const p = pipe();
    await c.execute('query-status', undefined, { fds: [p.write] });
    await c.execute('getfd', { fdname: 'late' });
    expect(through(taken[1]!.fd!, p, 'late')).toBe('late');
  });

  it('a newer unclaimed descriptor replaces an older one, which is closed', async () => {
    const c = await connect();
    const older = pipe();
    const newer = pipe();
    await c.execute('query-status', undefined, { fds: [older.write] });
    await c.execute('query-status', undefined, { fds: [newer.write] });
    await c.execute('getfd', { fdname: 'n' });
    expect(through(taken[2]!.fd!, newer, 'new')).toBe('new');
    expect(writeEndsClosed(older)).toBe(true);
  });

  it('of several descriptors in one message getfd takes the first and the others are closed', async () => {
    const c = await connect();
    const first = pipe();
    const second = pipe();
    await c.execute('getfd', { fdname: 'two' }, { fds: [first.write, second.write] });
    expect(through(taken[0]!.fd!, first, 'first')).toBe('first');
    expect(writeEndsClosed(second)).toBe(true);
  });

  it('descriptors left unclaimed are closed with the connection', async () => {
    const c = await connect();
    const p = pipe();
    await c.execute('query-status', undefined, { fds: [p.write] });
    await c.close();
    clients.splice(clients.indexOf(c), 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(writeEndsClosed(p)).toBe(true);
  });

  it('a request line split over several reads keeps the descriptor that came with its first bytes', async () => {
    const c = await connect();
    const p = pipe();
    // 200 KiB of argument: recvmsg reads 64 KiB at a time, the descriptor comes with the first piece
    await expect(c.execute('getfd', { fdname: 'n'.repeat(200 * 1024) }, { fds: [p.write] })).resolves.toEqual({});
    expect(through(taken[0]!.fd!, p, 'long')).toBe('long');
  });

  it('each listener is its own monitor', async () => {
    const second = join(tmp.dir, 'second.sock');
    await server.listen({ kind: 'unix', path: second });
    const c = await connect(second);
    await c.getfd('m2', pipe().write);
    expect(taken[0]?.monitor).toBe(2);
  });

  it('over tcp there are no descriptors: the client refuses to send them, getfd gets none', async () => {
    const tcp = await server.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 });
    const c = await QmpClient.connect(tcp.endpoint);
    clients.push(c);
    await expect(c.getfd('x', pipe().write)).rejects.toThrow(/cannot send file descriptors to tcp:127\.0\.0\.1:\d+: SCM_RIGHTS needs a unix socket/);
    await expect(c.execute('getfd', { fdname: 'x' })).rejects.toThrow('No file descriptor supplied via SCM_RIGHTS');
  });
});

const python = spawnSync('python3', ['-c', 'import socket; socket.send_fds'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!python)('a sender that is not ours (python3 socket.send_fds)', () => {
  it('its descriptor reaches getfd', async () => {
    const file = join(tmp.dir, 'from-python.txt');
    // python opens a file, hands it over with getfd and exits; the server's copy writes to the file
    const script = `
import json, socket, sys, os
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('r'); f.readline()
s.sendall(b'{"execute":"qmp_capabilities"}\\n'); f.readline()
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT, 0o600)
socket.send_fds(s, [b'{"execute":"getfd","arguments":{"fdname":"py"}}\\n'], [fd])
print(f.readline().strip())`;
    const { stdout } = await promisify(execFile)('python3', ['-c', script, sock, file], { encoding: 'utf8' });
    expect(JSON.parse(stdout)).toEqual({ return: {} });
    const fd = taken[0]!.fd!;
    writeSync(fd, 'written by the server');
    expect(readFileSync(file, 'utf8')).toBe('written by the server');
  });
});
