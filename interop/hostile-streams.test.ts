// Hostile sizes and counts sent to a real mig-daemon `-incoming` over tcp: each stream claims something huge
// (a 1 PiB MEM_SIZE, a million RAM blocks, 4 GiB names and vmdescs, a 255-byte idstr of garbage, a drive
// that does not exist, an XBZRLE length no page has, one section started under a million ids). Each must end
// `failed` with an error naming what was wrong, the guest must not run, and the daemon's peak memory while it
// refuses (VmHWM, reset through /proc/PID/clear_refs just before the stream is sent) must stay within a small
// bound. Controls: the same measurement sees a process allocate 48 MiB, and the daemon's figure for a valid
// 48 MiB stream of pages is logged beside the hostile ones (guest RAM is populated before it listens, so what
// grows there is the stream in flight).
import { writeFile } from 'node:fs/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, cleanupVms, freePort, launchVm, tmpDir, type QueryMigrateReply } from '@mig/test-helpers';

const RAM_MIB = 64;
const MiB = 1 << 20;
/** Peak growth allowed while refusing a stream: socket buffers, the reader's record tail, V8's young space. */
const PEAK_BOUND = 16 * MiB;

const hex = (s: string): Buffer => Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex');
const be32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };
const be64 = (v: number): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(v)); return b; };
const counted = (s: string | Uint8Array): Buffer => { const b = Buffer.from(s); return Buffer.concat([Buffer.of(b.length), b]); };

const HEADER = Buffer.concat([hex('5145564d 00000003 07'), be32(4), Buffer.from('none')]);
const sectionStart = (id: number, idstr: string | Uint8Array, version: number) => Buffer.concat([hex('01'), be32(id), counted(idstr), be32(0), be32(version)]);
const part = (id: number) => Buffer.concat([hex('02'), be32(id)]);
const footer = (id: number) => Buffer.concat([hex('7e'), be32(id)]);
const EOS = be64(0x10);
const memSize = (total: number, blocks: Array<[string, number]>) =>
  Buffer.concat([be64(total + 0x04), ...blocks.flatMap(([id, len]) => [counted(id), be64(len)])]);
const RAM_START = Buffer.concat([sectionStart(2, 'ram', 4), memSize(RAM_MIB * MiB, [['mem0', RAM_MIB * MiB]]), EOS, footer(2)]);
const garbage = Uint8Array.from({ length: 255 }, (_, i) => (i * 37 + 1) & 0xff);

/** MEM_SIZE announcing 1,048,576 blocks of 64 bytes: they add up to the target's 64 MiB, their names to nothing. */
function millionMemSizeEntries(): Buffer {
  const entries: Buffer[] = [];
  for (let i = 0; i < 1 << 20; i++) entries.push(counted(`blk${String(i).padStart(7, '0')}`), be64(64));
  return Buffer.concat([HEADER, sectionStart(2, 'ram', 4), be64(RAM_MIB * MiB + 0x04), ...entries]);
}

function millionStarts(): Buffer {
  const records: Buffer[] = [HEADER];
  for (let id = 2; id < 1_000_002; id++) records.push(sectionStart(id, 'ram', 4), memSize(RAM_MIB * MiB, [['mem0', RAM_MIB * MiB]]), EOS, footer(id));
  return Buffer.concat(records);
}

/** 48 MiB of non-zero pages for mem0 and then the stream stops: the control whose growth must show. */
function fillingStream(): Buffer {
  const page = Buffer.alloc(4096, 0x5a);
  const records: Buffer[] = [HEADER, RAM_START, part(2)];
  for (let i = 0; i < (48 * MiB) / 4096; i++) records.push(i === 0 ? Buffer.concat([be64(0x08), counted('mem0')]) : be64(i * 4096 + 0x28), page);
  return Buffer.concat(records);
}

const CASES: Array<{ name: string; stream: () => Buffer; desc: RegExp }> = [
  { name: 'a 1 PiB MEM_SIZE total', stream: () => Buffer.concat([HEADER, sectionStart(2, 'ram', 4), be64(2 ** 50 + 0x04)]),
    desc: /ram MEM_SIZE record at byte 34: RAM size mismatch: stream has 1125899906842624 bytes \(0x4000000000000\), target has 67108864/ },
  { name: 'a million RAM blocks announced', stream: millionMemSizeEntries, desc: /ram MEM_SIZE record at byte 34: unknown ramblock "blk0000000", cannot accept migration/ },
  { name: 'a 255-byte section idstr of garbage', stream: () => Buffer.concat([HEADER, sectionStart(2, garbage, 4)]),
    desc: /^SECTION_START record at byte 17: Unknown savevm section or instance '\\x01&K[ -~]*\.\.\. \(255 bytes\)' 0: this target has no handler/ },
  { name: 'a 255-byte RAM block idstr of garbage', stream: () => Buffer.concat([HEADER, RAM_START, part(2), be64(0x08), counted(garbage)]),
    desc: /ram PAGE record at byte \d+: unknown RAM block '\\x01&K[ -~]*\.\.\. \(255 bytes\)'/ },
  { name: 'a block device name that matches no drive', stream: () => Buffer.concat([HEADER, sectionStart(1, 'block', 1), be64(0x01), counted('nosuch'), Buffer.alloc(MiB, 1)]),
    desc: /block chunk record at byte 36: Error unknown block device nosuch \(this target's drives: d0\)/ },
  { name: 'an impossible XBZRLE encoded length', stream: () => Buffer.concat([HEADER, RAM_START, part(2), be64(0x40), counted('mem0'), hex('01 ffff')]),
    desc: /ram XBZRLE record at byte \d+: XBZRLE data length 65535 exceeds the page size 4096/ },
  { name: 'a machine name length of 4 GiB - 1', stream: () => Buffer.concat([hex('5145564d 00000003 07 ffffffff')]),
    desc: /CONFIGURATION record at byte 8: machine name length 4294967295 exceeds 256/ },
  { name: 'a vmdesc length of 4 GiB - 1', stream: () => Buffer.concat([HEADER, RAM_START, hex('03'), be32(2), EOS, footer(2), hex('00 06 ffffffff')]),
    desc: /VMDESCRIPTION record at byte \d+: vmdesc length 4294967295 exceeds 1048576/ },
  { name: 'one section started under a million section ids', stream: millionStarts,
    desc: /SECTION_START record at byte \d+: section 'ram' is started a second time, as section id 3 \(it began as section id 2\)/ },
];

interface Memory { rss: number; hwm: number }
function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)![1]) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

describe('mig-daemon -incoming refusing hostile sizes with bounded memory', () => {
  let dir = '';
  let disk = '';
  const table: string[] = [];
  beforeAll(async () => {
    dir = await tmpDir('mig-hostile-');
    disk = join(dir, 'd0.raw');
    await writeFile(disk, Buffer.alloc(4 * MiB));
  });
  afterEach(cleanupVms);
  afterAll(async () => {
    console.log(`\nmig-daemon memory while refusing hostile streams (peak = VmHWM after the refusal − VmRSS when VmHWM was reset):\n${table.join('\n')}`);
    await cleanupAll();
  });

  /** Sends `stream` to a fresh daemon's incoming tcp listener; returns its final query-migrate and memory. */
  async function send(stream: Buffer): Promise<{ reply: QueryMigrateReply; before: Memory; after: Memory; runstate: string }> {
    const vm = await launchVm({ kind: 'mig', ramMiB: RAM_MIB, incoming: 'defer', drives: [{ id: 'd0', file: disk, format: 'raw' }] });
    const port = await freePort();
    await vm.qmp.execute('migrate-incoming', { uri: `tcp:127.0.0.1:${port}` });
    const pid = vm.proc.pid!;
    writeFileSync(`/proc/${pid}/clear_refs`, '5'); // VmHWM := VmRSS now
    const before = memoryOf(pid);
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined); // the daemon closes on refusal; unsent bytes are dropped
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.end(stream);
    const reply = await vm.waitForMigration(['failed', 'completed', 'cancelled'], 120_000);
    socket.destroy();
    const after = memoryOf(pid);
    const runstate = await vm.runState();
    await vm.qmp.execute('query-migrate-parameters'); // still answering
    return { reply, before, after, runstate };
  }

  for (const c of CASES) {
    it(`refuses ${c.name}`, async () => {
      const stream = c.stream();
      const { reply, before, after, runstate } = await send(stream);
      const peak = after.hwm - before.rss;
      table.push(`  ${c.name.padEnd(48)} stream ${mib(stream.length).padStart(9)}  rss ${mib(before.rss)} -> ${mib(after.rss)}, peak +${mib(Math.max(0, peak))}`);
      expect(reply.status, JSON.stringify(reply)).toBe('failed');
      expect(reply['error-desc']).toMatch(c.desc);
      expect(runstate).not.toBe('running');
      expect(peak, `${c.name}: VmHWM ${after.hwm} after, VmRSS ${before.rss} before`).toBeLessThan(PEAK_BOUND);
    });
  }

  it('control: the measurement sees a process that allocates 48 MiB', async () => {
    const child = spawn(process.execPath, ['-e', `process.stdin.once('data', () => { globalThis.kept = Buffer.alloc(${48 * MiB}, 1); console.log('done'); process.stdin.once('data', () => process.exit(0)); });`], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise((resolve) => setTimeout(resolve, 500));
    writeFileSync(`/proc/${child.pid}/clear_refs`, '5');
    const before = memoryOf(child.pid!);
    child.stdin.write('go\n');
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const after = memoryOf(child.pid!);
    child.stdin.write('exit\n');
    const peak = after.hwm - before.rss;
    table.push(`  ${'control: a process allocating 48 MiB'.padEnd(48)} ${''.padStart(16)}  rss ${mib(before.rss)} -> ${mib(after.rss)}, peak +${mib(Math.max(0, peak))}`);
    expect(peak).toBeGreaterThan(44 * MiB);
  });

  it('for comparison: a valid stream of 48 MiB of pages that then stops', async () => {
    const stream = fillingStream();
    const { reply, before, after } = await send(stream);
    const peak = after.hwm - before.rss;
    table.push(`  ${'valid 48 MiB of pages, then the stream stops'.padEnd(48)} stream ${mib(stream.length).padStart(9)}  rss ${mib(before.rss)} -> ${mib(after.rss)}, peak +${mib(Math.max(0, peak))}`);
    expect(reply.status).toBe('failed');
    expect(reply['error-desc']).toMatch(/stream ended after \d+ bytes/);
  });
});
