// Every daemon command called with arguments of the wrong type (or missing, or unknown) must get a QMP
// error naming the argument, and the daemon must keep answering. The same table is run against QEMU 7.2
// first, which proves each call really is wrong.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, cleanupVms, launchVm, QEMU_SKIP_MESSAGE, requireQemu, type Vm } from '@mig/test-helpers';

const hasQemu = requireQemu();

interface BadCall {
  args: Record<string, unknown>;
  /** The argument the error must name. */
  names: string;
}

// Valid required arguments, so that an extra unknown argument is the only thing wrong.
const REQUIRED: Record<string, Record<string, unknown>> = {
  migrate: { uri: 'tcp:127.0.0.1:1' },
  'migrate-incoming': { uri: 'tcp:127.0.0.1:1' },
  'migrate-set-capabilities': { capabilities: [] },
  pmemsave: { val: 0, size: 4096, filename: '/dev/null' },
  'human-monitor-command': { 'command-line': 'info status' },
  migrate_set_speed: { value: 1 << 30 },
  migrate_set_downtime: { value: 0.3 },
  'migrate-set-cache-size': { value: 64 << 20 },
  getfd: { fdname: 'x' },
  closefd: { fdname: 'x' },
  // mig's own x- commands (QEMU has none of them: only mig-daemon is asked)
  'x-mig-workload': { action: 'stop' },
  'x-mig-disk-workload': { drive: 'd0', action: 'stop' },
  'x-mig-write': { address: 0, data: 'AA==' },
};

function unknownArgument(command: string): BadCall {
  return { args: { ...REQUIRED[command], 'no-such-argument': 1 }, names: 'no-such-argument' };
}

// Commands the seed had and QEMU 7.2 dropped: QEMU answers CommandNotFound, mig must validate them.
const LEGACY = new Set(['migrate_set_speed', 'migrate_set_downtime', 'migrate-set-cache-size', 'query-migrate-cache-size']);

// Typed bad calls per command; every command also gets an argument it does not take.
const BAD: Record<string, BadCall[]> = {
  migrate: [
    { args: { uri: 5 }, names: 'uri' },
    { args: { uri: ['tcp:127.0.0.1:1'] }, names: 'uri' },
    { args: {}, names: 'uri' },
    { args: { uri: 'tcp:127.0.0.1:1', blk: 'yes' }, names: 'blk' },
    { args: { uri: 'tcp:127.0.0.1:1', inc: 1 }, names: 'inc' },
    { args: { uri: 'tcp:127.0.0.1:1', detach: 'true' }, names: 'detach' },
  ],
  'migrate-incoming': [
    { args: { uri: 5 }, names: 'uri' },
    { args: { uri: null }, names: 'uri' },
  ],
  'migrate-set-parameters': [
    { args: { 'max-bandwidth': 'fast' }, names: 'max-bandwidth' },
    { args: { 'downtime-limit': '300' }, names: 'downtime-limit' },
    { args: { 'xbzrle-cache-size': true }, names: 'xbzrle-cache-size' },
    { args: { 'cpu-throttle-initial': 2.5 }, names: 'cpu-throttle-initial' },
    { args: { 'cpu-throttle-increment': [] }, names: 'cpu-throttle-increment' },
    { args: { 'max-cpu-throttle': {} }, names: 'max-cpu-throttle' },
  ],
  'migrate-set-capabilities': [
    { args: { capabilities: 'xbzrle' }, names: 'capabilities' },
    { args: { capabilities: [{ capability: 'xbzrle', state: 'on' }] }, names: 'state' },
    { args: { capabilities: [{ capability: 5, state: true }] }, names: 'capability' },
    { args: { capabilities: [{ capability: 'no-such-capability', state: true }] }, names: 'capability' },
    { args: {}, names: 'capabilities' },
  ],
  pmemsave: [
    { args: { val: 'x', size: 4096, filename: '/dev/null' }, names: 'val' },
    { args: { val: 0, size: '4096', filename: '/dev/null' }, names: 'size' },
    { args: { val: 0, size: 4096, filename: 5 }, names: 'filename' },
    { args: { val: 0, size: 4096 }, names: 'filename' },
  ],
  // (an unknown member alone: QEMU names the missing qom-type or id first, so these name what they break)
  'object-add': [
    { args: { id: 'a' }, names: 'qom-type' },
    { args: { 'qom-type': 'authz-simple', id: 'a', identity: 5 }, names: 'identity' },
    { args: { 'qom-type': 'authz-simple', id: 'a', identity: 'x', 'no-such-argument': 1 }, names: 'no-such-argument' },
  ],
  'object-del': [
    { args: {}, names: 'id' },
    { args: { id: 5 }, names: 'id' },
    { args: { id: 'a', 'no-such-argument': 1 }, names: 'no-such-argument' },
  ],
  'human-monitor-command': [
    { args: { 'command-line': 5 }, names: 'command-line' },
    { args: {}, names: 'command-line' },
  ],
  migrate_set_speed: [
    { args: { value: '1G' }, names: 'value' },
    { args: {}, names: 'value' },
  ],
  migrate_set_downtime: [
    { args: { value: 'short' }, names: 'value' },
    { args: {}, names: 'value' },
  ],
  'migrate-set-cache-size': [
    { args: { value: 'big' }, names: 'value' },
    { args: {}, names: 'value' },
  ],
  qmp_capabilities: [{ args: { enable: 'oob' }, names: 'enable' }],
  getfd: [
    { args: { fdname: 5 }, names: 'fdname' },
    { args: {}, names: 'fdname' },
  ],
  closefd: [
    { args: { fdname: true }, names: 'fdname' },
    { args: {}, names: 'fdname' },
  ],
  'x-mig-workload': [
    { args: { action: 5 }, names: 'action' },
    { args: {}, names: 'action' },
    { args: { action: 'set', 'dirty-rate': 'fast' }, names: 'dirty-rate' },
  ],
  'x-mig-disk-workload': [
    { args: { action: 'stop' }, names: 'drive' },
    { args: { drive: 'd0' }, names: 'action' },
    { args: { drive: 5, action: 'stop' }, names: 'drive' },
    { args: { drive: 'd0', action: 'start', rate: '1M' }, names: 'rate' },
    { args: { drive: 'd0', action: 'start', pattern: 'loud' }, names: 'pattern' },
  ],
  'x-mig-write': [
    { args: { address: 'zero', data: 'AA==' }, names: 'address' },
    { args: { address: 0 }, names: 'data' },
  ],
};

/** Commands whose required members QEMU checks before unknown ones: their table names an unknown member itself. */
const REQUIRED_FIRST = new Set(['object-add', 'object-del']);

function callsFor(command: string): BadCall[] {
  return [...(BAD[command] ?? []), ...(REQUIRED_FIRST.has(command) ? [] : [unknownArgument(command)])];
}

/** Runs every bad call for `commands` (quit last) on `vm`; returns the errors, checking liveness after each. */
async function runTable(vm: Vm, commands: string[]) {
  const ordered = [...commands.filter((c) => c !== 'quit'), ...commands.filter((c) => c === 'quit')];
  const results: Array<{ command: string; call: BadCall; errorClass?: string; desc?: string; returned?: unknown }> = [];
  for (const command of ordered) {
    for (const call of callsFor(command)) {
      try {
        const returned = await vm.qmp.execute(command, call.args);
        results.push({ command, call, returned });
      } catch (err) {
        const e = err as { errorClass?: string; desc?: string; message?: string };
        if (e.errorClass === undefined) throw new Error(`${command} ${JSON.stringify(call.args)}: ${e.message}\n${vm.stderr}`);
        results.push({ command, call, errorClass: e.errorClass, desc: e.desc ?? '' });
      }
      // Still answering after every call.
      const st = (await vm.qmp.execute('query-status')) as { status: string };
      expect(typeof st.status).toBe('string');
    }
  }
  return results;
}

const describeLabel = `QMP argument errors${hasQemu ? '' : ` (${QEMU_SKIP_MESSAGE})`}`;
describe.skipIf(!hasQemu)(describeLabel, () => {
  afterEach(cleanupVms);
  afterAll(cleanupAll);

  let qemuCommands: string[] = [];
  beforeAll(async () => {
    const vm = await launchVm({ kind: 'qemu', ramMiB: 16, incoming: 'defer' });
    const list = (await vm.qmp.execute('query-commands')) as Array<{ name: string }>;
    qemuCommands = list.map((c) => c.name);
    await vm.quit();
  });

  it('QEMU 7.2 rejects every call in the table (harness check)', async () => {
    const vm = await launchVm({ kind: 'qemu', ramMiB: 16, incoming: 'defer' });
    const tableCommands = [...new Set([...Object.keys(BAD), 'quit', 'query-status', 'query-migrate', 'cont', 'stop'])];
    const results = await runTable(vm, tableCommands);
    for (const r of results) {
      const what = `${r.command} ${JSON.stringify(r.call.args)} → ${JSON.stringify(r)}`;
      if (LEGACY.has(r.command) || !qemuCommands.includes(r.command)) {
        expect(r.errorClass, what).toBe('CommandNotFound');
      } else {
        expect(r.errorClass, what).toBe('GenericError');
        expect(r.desc, what).toContain(r.call.names);
      }
    }
    expect(vm.proc.exitCode).toBeNull();
  });

  it('mig-daemon rejects wrong arguments to every command it lists, naming the argument, and keeps answering', async () => {
    const vm = await launchVm({ kind: 'mig', ramMiB: 16, incoming: 'defer' });
    const list = (await vm.qmp.execute('query-commands')) as Array<{ name: string }>;
    const commands = list.map((c) => c.name);
    // The commands the brief names must be there.
    for (const c of ['migrate', 'migrate-incoming', 'query-migrate', 'query-status', 'pmemsave',
      'migrate-set-parameters', 'migrate-set-capabilities', 'quit', ...LEGACY]) {
      expect(commands, `query-commands lacks ${c}`).toContain(c);
    }
    const results = await runTable(vm, commands);
    for (const r of results) {
      const what = `${r.command} ${JSON.stringify(r.call.args)} → ${JSON.stringify(r)}`;
      expect(r.returned, what).toBeUndefined();
      if (r.command === 'qmp_capabilities' && r.errorClass === 'CommandNotFound') {
        // QEMU 7.2 checks arguments first (GenericError); CommandNotFound after negotiation is also an answer.
      } else {
        expect(r.errorClass, what).toBe('GenericError');
        expect(r.desc, what).toContain(r.call.names);
      }
    }
    expect(vm.proc.exitCode).toBeNull();
    expect((await vm.qmp.execute('query-status')) as { status: string }).toMatchObject({ status: 'inmigrate' });
  });
});
