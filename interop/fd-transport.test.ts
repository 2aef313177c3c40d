// fd: migrations between QEMU 7.2 and mig-daemon. The harness (this test, not a daemon) makes the socket
// pair or pipe and hands each end over: with getfd on the unix QMP socket (SCM_RIGHTS) or inherited at
// launch for `-incoming fd:3`. The target's RAM must equal the source's (sha256 of pmemsave and of the file
// that backed the source). Then the getfd/closefd errors and the fd-consumption rules of mig-daemon are
// checked against QEMU 7.2's own answers to the same requests.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll, closeDescriptor, fillRamFile, freePort, handDescriptor, launchVm, pipePair, QEMU_SKIP_MESSAGE, QmpClient,
  QmpError, requireQemu, sha256File, socketPair, startMigration, tmpDir, type Vm, type VmKind,
} from '@mig/test-helpers';

const hasQemu = requireQemu();
const RAM_MIB = 64;

interface Ends {
  /** The source's end: handed with getfd under `mig` (the harness closes its own copy after). */
  out: number;
  /** The target's end: handed with getfd, or inherited as descriptor 3. */
  in: number;
}

async function filledSource(kind: VmKind, dir: string, seed: number): Promise<{ source: Vm; fileHash: string }> {
  const ramFile = join(dir, 'src.ram');
  await fillRamFile(ramFile, RAM_MIB << 20, { seed, zeroFraction: 0.3 });
  const fileHash = await sha256File(ramFile);
  const source = await launchVm({ kind, ramMiB: RAM_MIB, ramFile, dir, name: 'source' });
  return { source, fileHash };
}

/**
 * src → dst over fd:: the target gets its end with getfd + `migrate-incoming fd:mig`, or inherited
 * (`-incoming fd:3`); the source with getfd + `migrate fd:mig`. Both must complete with equal RAM.
 */
async function migrateOverFd(src: VmKind, dst: VmKind, ends: Ends, how: 'getfd' | 'inherited', seed: number): Promise<void> {
  const dir = await tmpDir(`mig-fd-${src}-${dst}-`);
  const target =
    how === 'inherited'
      ? await launchVm({ kind: dst, ramMiB: RAM_MIB, incoming: 'fd:3', inheritFds: [ends.in], dir, name: 'target' })
      : await launchVm({ kind: dst, ramMiB: RAM_MIB, incoming: 'defer', dir, name: 'target' });
  if (how === 'getfd') {
    await handDescriptor(target, 'mig', ends.in);
    await target.qmp.execute('migrate-incoming', { uri: 'fd:mig' });
  }
  closeDescriptor(ends.in); // the target has its own copy now: the stream ends when the source closes its end
  const { source, fileHash } = await filledSource(src, dir, seed);
  await handDescriptor(source, 'mig', ends.out);
  closeDescriptor(ends.out);
  await startMigration(source, 'fd:mig');
  const srcReply = await source.waitForMigration();
  expect(srcReply.status, `source: ${JSON.stringify(srcReply)}\n${source.stderr}`).toBe('completed');
  const dstReply = await target.waitForMigration();
  expect(dstReply.status, `target: ${JSON.stringify(dstReply)}\n${target.stderr}`).toBe('completed');
  expect(await source.hashRam()).toBe(fileHash);
  expect(await target.hashRam()).toBe(fileHash);
}

function socketEnds(): Ends {
  const [out, inn] = socketPair();
  return { out, in: inn };
}

function pipeEnds(): Ends {
  const p = pipePair();
  return { out: p.write, in: p.read };
}

describe.skipIf(!hasQemu)(`fd: migrations${hasQemu ? '' : ` (${QEMU_SKIP_MESSAGE})`}`, () => {
  afterEach(cleanupAll);

  it('QEMU 7.2 → QEMU 7.2 over a socket pair (the harness itself)', async () => {
    await migrateOverFd('qemu', 'qemu', socketEnds(), 'getfd', 301);
  });

  it.each([
    ['mig', 'mig'],
    ['qemu', 'mig'],
    ['mig', 'qemu'],
  ] as const)('%s → %s over a socket pair, both ends handed with getfd', async (src, dst) => {
    await migrateOverFd(src, dst, socketEnds(), 'getfd', 310 + src.length + dst.length);
  });

  it.each([
    ['mig', 'mig'],
    ['qemu', 'mig'],
  ] as const)('%s → %s with -incoming fd:3, a socket pair end inherited from the harness', async (src, dst) => {
    await migrateOverFd(src, dst, socketEnds(), 'inherited', 320 + src.length);
  });

  it.each([
    ['mig', 'mig', 'getfd'],
    ['mig', 'mig', 'inherited'],
    ['qemu', 'mig', 'getfd'],
    ['mig', 'qemu', 'getfd'],
  ] as const)('%s → %s over a pipe, one way (target end %s)', async (src, dst, how) => {
    await migrateOverFd(src, dst, pipeEnds(), how, 330 + src.length + how.length);
  });
});

/** One request, its reply as QEMU's wire shows it: {return} or {error: {class, desc}}. */
async function answer(qmp: QmpClient, command: string, args?: Record<string, unknown>, fds?: number[]): Promise<unknown> {
  try {
    return { return: await qmp.execute(command, args, fds === undefined ? {} : { fds }) };
  } catch (err) {
    if (err instanceof QmpError) return { error: { class: err.errorClass, desc: err.desc } };
    throw err;
  }
}

/**
 * The getfd/closefd script both QEMU 7.2 and mig-daemon (`-incoming defer`, a second QMP monitor on tcp) are
 * put through; their replies must be the same, request by request.
 */
async function fdScript(vm: Vm, tcpPort: number): Promise<unknown[]> {
  const replies: unknown[] = [];
  const q = vm.qmp;
  const pipe = pipePair();
  const say = async (label: string, command: string, args?: Record<string, unknown>, fds?: number[]) =>
    replies.push([label, await answer(q, command, args, fds)]);
  try {
    await say('getfd without a descriptor', 'getfd', { fdname: 'a' });
    await say('getfd with a name starting with a digit', 'getfd', { fdname: '1abc' }, [pipe.write]);
    await say('getfd', 'getfd', { fdname: 'a' }, [pipe.write]);
    await say('getfd, the same name again', 'getfd', { fdname: 'a' }, [pipe.write]);
    await say('getfd, an empty name', 'getfd', { fdname: '' }, [pipe.write]);
    await say('getfd without fdname', 'getfd', {}, [pipe.write]);
    await say('closefd an unknown name', 'closefd', { fdname: 'zz' });
    await say('closefd', 'closefd', { fdname: 'a' });
    await say('closefd, the same again', 'closefd', { fdname: 'a' });
    await say('closefd, the empty name', 'closefd', { fdname: '' });
    await say('migrate-incoming an unknown name', 'migrate-incoming', { uri: 'fd:nope' });
    await say('a descriptor sent with another command', 'query-status', undefined, [pipe.write]);
    await say('... is taken by a getfd without one', 'getfd', { fdname: 'late' });
    // migrate-incoming fd:NAME consumes the name: it is gone for closefd
    await say('getfd for the target', 'getfd', { fdname: 'in' }, [pipe.read]);
    await say('migrate-incoming fd:in', 'migrate-incoming', { uri: 'fd:in' });
    await say('closefd after migrate-incoming took it', 'closefd', { fdname: 'in' });
    const tcp = await QmpClient.connect({ kind: 'tcp', host: '127.0.0.1', port: tcpPort });
    try {
      replies.push(['getfd over tcp QMP', await answer(tcp, 'getfd', { fdname: 't' })]);
    } finally {
      await tcp.close();
    }
  } finally {
    closeDescriptor(pipe.read);
    closeDescriptor(pipe.write);
  }
  return replies;
}

/** On a running source: unknown names, then `migrate fd:NAME` takes the name, whatever becomes of the migration. */
async function migrateScript(vm: Vm): Promise<unknown[]> {
  const [a, b] = socketPair();
  const replies: unknown[] = [];
  const say = async (label: string, command: string, args?: Record<string, unknown>) =>
    replies.push([label, await answer(vm.qmp, command, args)]);
  try {
    await say('migrate an unknown name', 'migrate', { uri: 'fd:nope' });
    await say('migrate fd:7 (a name, not a number)', 'migrate', { uri: 'fd:7' });
    await handDescriptor(vm, 'out', a);
    closeDescriptor(b); // nobody will read: the migration fails (a small idle guest could fit the socket's buffer)
    await say('migrate fd:out', 'migrate', { uri: 'fd:out' });
    replies.push(['its end', (await vm.waitForMigration()).status]);
    await say('closefd after migrate took it', 'closefd', { fdname: 'out' });
    replies.push(['the guest runs on', await vm.runState()]);
    return replies;
  } finally {
    closeDescriptor(a);
  }
}

describe.skipIf(!hasQemu)(`getfd and closefd as QEMU 7.2 answers them${hasQemu ? '' : ` (${QEMU_SKIP_MESSAGE})`}`, () => {
  afterEach(cleanupAll);

  it('the same replies, request by request, from QEMU 7.2 and mig-daemon', async () => {
    const results: Record<VmKind, unknown[]> = { qemu: [], mig: [] };
    for (const kind of ['qemu', 'mig'] as const) {
      const port = await freePort();
      const vm = await launchVm({
        kind, ramMiB: 16, incoming: 'defer', extraArgs: ['-qmp', `tcp:127.0.0.1:${port},server=on,wait=off`],
      });
      results[kind] = await fdScript(vm, port);
      await vm.kill(); // QEMU exits by itself once its incoming stream ends unloaded
    }
    expect(results.mig).toEqual(results.qemu);
    // what QEMU 7.2 answers, written out, so that a change on either side shows here
    const error = (desc: string) => ({ error: { class: 'GenericError', desc } });
    const ok = { return: {} };
    expect(results.qemu).toEqual([
      ['getfd without a descriptor', error('No file descriptor supplied via SCM_RIGHTS')],
      ['getfd with a name starting with a digit', error("Parameter 'fdname' expects a name not starting with a digit")],
      ['getfd', ok],
      ['getfd, the same name again', ok],
      ['getfd, an empty name', ok],
      ['getfd without fdname', error("Parameter 'fdname' is missing")],
      ['closefd an unknown name', error("File descriptor named 'zz' not found")],
      ['closefd', ok],
      ['closefd, the same again', error("File descriptor named 'a' not found")],
      ['closefd, the empty name', ok],
      ['migrate-incoming an unknown name', error("File descriptor named 'nope' has not been found")],
      ['a descriptor sent with another command', { return: { status: 'inmigrate', singlestep: false, running: false } }],
      ['... is taken by a getfd without one', ok],
      ['getfd for the target', ok],
      ['migrate-incoming fd:in', ok],
      ['closefd after migrate-incoming took it', error("File descriptor named 'in' not found")],
      ['getfd over tcp QMP', error('No file descriptor supplied via SCM_RIGHTS')],
    ]);
  });

  it('migrate fd:NAME: unknown names, and the descriptor taken out of the monitor, on QEMU 7.2 and on mig-daemon', async () => {
    const results: Record<VmKind, unknown[]> = { qemu: [], mig: [] };
    for (const kind of ['qemu', 'mig'] as const) {
      const vm = await launchVm({ kind, ramMiB: 16 });
      results[kind] = await migrateScript(vm);
      await vm.quit();
    }
    expect(results.mig).toEqual(results.qemu);
    expect(results.qemu).toEqual([
      ['migrate an unknown name', { error: { class: 'GenericError', desc: "File descriptor named 'nope' has not been found" } }],
      ['migrate fd:7 (a name, not a number)', { error: { class: 'GenericError', desc: "File descriptor named '7' has not been found" } }],
      ['migrate fd:out', { return: {} }],
      ['its end', 'failed'],
      ['closefd after migrate took it', { error: { class: 'GenericError', desc: "File descriptor named 'out' not found" } }],
      ['the guest runs on', 'running'],
    ]);
  });
});
