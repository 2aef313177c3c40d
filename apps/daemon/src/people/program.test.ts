import { afterEach, describe, expect, it } from 'vitest';
import { FakeEnd } from './testing/fake-end.js';
import { runMig } from './program.js';
import { testIo, type TestIo } from './testing/test-io.js';

const ends: FakeEnd[] = [];
afterEach(async () => {
  await Promise.all(ends.splice(0).map((e) => e.stop()));
});

async function pair(io: TestIo, opts: { deferred?: boolean; refuseMigrate?: string } = {}) {
  const source = await new FakeEnd({ clock: io.clock, ...(opts.refuseMigrate ? { refuseMigrate: opts.refuseMigrate } : {}) }).start();
  const target = await new FakeEnd({ clock: io.clock, targetOf: source, deferred: opts.deferred ?? true }).start();
  ends.push(source, target);
  return { source, target };
}

/** The percent of each frame the bar drew (`\r\x1b[K` starts one). */
function framePercents(text: string): number[] {
  return text.split('\r\x1b[K').map((f) => /\]\s+([\d.]+)%/.exec(f)?.[1]).filter((p) => p !== undefined).map(Number);
}

describe('mig (commander)', () => {
  it('--help on the program and on every subcommand exits 0; usage errors exit 2; --version names mig and QEMU', async () => {
    for (const argv of [['--help'], ['migrate', '--help'], ['status', '--help'], ['watch', '--help'], ['cancel', '--help'], ['help', 'migrate']]) {
      const io = testIo();
      expect(await runMig(argv, io), argv.join(' ')).toBe(0);
      expect(io.stdout.text).toMatch(/Usage: mig/);
    }
    const io = testIo();
    expect(await runMig(['-V'], io)).toBe(0);
    expect(io.stdout.text).toBe('mig 0.1.0 (speaks QEMU 7.2.0)\n');
    for (const argv of [[], ['frob'], ['status', '--bogus'], ['migrate', '--to', 'tcp:x:1'], ['migrate', '--from', 'unix:/x', '--to', 'u', '--blk', '--inc']]) {
      const e = testIo();
      expect(await runMig(argv, e), argv.join(' ')).toBe(2);
    }
  });

  it('analyze and report get their arguments untouched: their own help, their own usage errors', async () => {
    for (const tool of ['analyze', 'report']) {
      const help = testIo();
      expect(await runMig([tool, '--help'], help), tool).toBe(0);
      expect(help.stdout.text + help.stderr.text).toMatch(new RegExp(`mig ${tool}`));
      const missing = testIo();
      expect(await runMig([tool, '/nonexistent/input'], missing), tool).not.toBe(0);
      expect(missing.stderr.text).toMatch(/\/nonexistent\/input/);
    }
    const bad = testIo();
    expect(await runMig(['analyze', '--bogus', 'stream.bin'], bad)).toBe(2);
    expect(bad.stderr.text).toMatch(/mig analyze: .*--bogus/);
  });

  it('an unreachable QMP exits 3, naming it', async () => {
    const io = testIo();
    expect(await runMig(['status', 'unix:/nonexistent/qmp.sock'], io)).toBe(3);
    expect(io.stderr.text).toMatch(/cannot reach the source's QMP at unix:\/nonexistent\/qmp.sock/);
  });

  it('migrate with QEMU at both ends: migrate-incoming on the deferred target, parameters, --json; exit 0 as both completed', async () => {
    const io = testIo();
    const { source, target } = await pair(io);
    const code = await runMig(['migrate', '--from', source.address, '--to', 'tcp:127.0.0.1:4444', '--incoming-qmp', target.address,
      '--bandwidth', '64M', '--downtime', '500', '--auto-converge', '--json'], io);
    expect(code).toBe(0);
    const out = JSON.parse(io.stdout.text) as Record<string, unknown>;
    expect(out).toMatchObject({ result: 'completed on both ends', exitCode: 0, source: { status: 'completed' }, target: { status: 'completed' }, downtimeMs: 42, passes: 3 });
    expect(target.calls).toContainEqual({ name: 'migrate-incoming', args: { uri: 'tcp:127.0.0.1:4444' } });
    expect(source.calls).toContainEqual({ name: 'migrate-set-parameters', args: { 'max-bandwidth': 64 * 1024 * 1024, 'downtime-limit': 500 } });
    expect(source.calls).toContainEqual({ name: 'migrate-set-capabilities', args: { capabilities: [{ capability: 'auto-converge', state: true }] } });
    expect(source.calls).toContainEqual({ name: 'migrate', args: { uri: 'tcp:127.0.0.1:4444' } });
  });

  it('the bar on a terminal: redrawn in place, rising through the bulk pass, never backwards, 100 only at completed', async () => {
    const io = testIo({ tty: true, columns: 100 });
    const { source, target } = await pair(io, { deferred: false });
    expect(await runMig(['migrate', '--from', source.address, '--to', 'unix:/tmp/m.sock', '--incoming-qmp', target.address], io)).toBe(0);
    expect(target.calls.some((c) => c.name === 'migrate-incoming')).toBe(false); // it listened already
    const frames = framePercents(io.stdout.text);
    expect(frames.length).toBeGreaterThan(10);
    for (let i = 1; i < frames.length; i++) expect(frames[i]).toBeGreaterThanOrEqual(frames[i - 1]!);
    const bulk = frames.filter((p) => p > 0 && p < 90);
    expect(new Set(bulk).size).toBeGreaterThan(5); // it moved during the bulk pass, not only at syncs
    expect(frames.at(-1)).toBe(100);
    expect(frames.slice(0, -1).every((p) => p < 100)).toBe(true);
    expect(io.stdout.text.split('\r\x1b[K').slice(1, -1).every((f) => f.length <= 99)).toBe(true); // fits the terminal
    expect(io.stdout.text).toMatch(/ETA \d/);
    expect(io.stdout.text).toMatch(/status\s+completed\s+completed/); // the summary table
  });

  it('the old form migrate --qmp ADDR URI still works, with a note', async () => {
    const io = testIo();
    const { source } = await pair(io);
    expect(await runMig(['migrate', '--qmp', source.address, 'tcp:127.0.0.1:1', '--progress', 'none'], io)).toBe(0);
    expect(io.stderr.text).toMatch(/old form of 'mig migrate --from ADDR --to URI'/);
    expect(io.stdout.text).toMatch(/completed on the source \(the target was not asked/);
  });

  it('a refused migrate exits 4 with the reason; Ctrl-C cancels and exits 130', async () => {
    const io = testIo();
    const { source } = await pair(io, { refuseMigrate: "There's a migration process in progress" });
    expect(await runMig(['migrate', '--from', source.address, '--to', 'tcp:127.0.0.1:1'], io)).toBe(4);
    expect(io.stderr.text).toMatch(/the source refused migrate: There's a migration process in progress/);
    const io2 = testIo();
    const { source: s2 } = await pair(io2);
    const sleep = io2.sleep;
    io2.sleep = async (ms) => {
      if (s2.startedAt !== undefined && !s2.cancelled) io2.interrupt(); // Ctrl-C while the bar runs
      await sleep(ms);
    };
    expect(await runMig(['migrate', '--from', s2.address, '--to', 'tcp:127.0.0.1:1', '--json'], io2)).toBe(130);
    expect(io2.stderr.text).toMatch(/cancelling the migration/);
    expect(JSON.parse(io2.stdout.text)).toMatchObject({ source: { status: 'cancelled' } });
  });

  it('status renders query-migrate for a person and as JSON', async () => {
    const io = testIo();
    const { source } = await pair(io);
    source.startedAt = io.clock.now - 1000;
    expect(await runMig(['status', source.address], io)).toBe(0);
    expect(io.stdout.text).toMatch(/migration: active/);
    expect(io.stdout.text).toMatch(/RAM\s+32\.0 MiB of 64\.0 MiB done \(50\.0 %\)/);
    const j = testIo();
    j.clock.now = io.clock.now;
    expect(await runMig(['status', source.address, '--json'], j)).toBe(0);
    expect(JSON.parse(j.stdout.text)).toMatchObject({ runstate: 'running', queryMigrate: { status: 'active' }, progress: null });
  });
});
