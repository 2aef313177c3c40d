#!/usr/bin/env node
// Benchmark: guest RAM of random bytes migrated over TCP loopback at unlimited bandwidth,
// mig-daemon → mig-daemon next to QEMU 7.2 → QEMU 7.2 in the same run, both with file-backed RAM,
// and the ceiling: node's raw loopback TCP throughput with 1 MiB writes, measured in the same run.
// Prints a table and writes bench/results/latest.json.
//
//   node bench/run.mjs [--quick] [--ram-mib N] [--runs N] [--only qemu|mig] [--ram-dir DIR]
//
// --ram-dir puts the RAM backing files (source and target) in DIR instead of os.tmpdir(), e.g. /dev/shm
// to take the disk's page-cache writeback out of the measurement.
//
// Uses @mig/test-helpers' built dist (run `pnpm build` first; `pnpm bench` does).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { helpers, writeResult } from './common.mjs';

const { cleanupAll, cleanupVms, fillRamFile, findQemu, freePort, launchVm, sha256File, tmpDir } = helpers;

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'ram-mib': { type: 'string' },
    runs: { type: 'string', default: '1' },
    only: { type: 'string' },
    'ram-dir': { type: 'string' },
  },
});
const ramMiB = opts['ram-mib'] !== undefined ? Number(opts['ram-mib']) : opts.quick ? 256 : 1024;
const runs = Number(opts.runs);
if (!Number.isInteger(ramMiB) || ramMiB <= 0) throw new Error(`--ram-mib must be a positive integer, got ${opts['ram-mib']}`);
if (!Number.isInteger(runs) || runs <= 0) throw new Error(`--runs must be a positive integer, got ${opts.runs}`);
if (opts.only !== undefined && opts.only !== 'qemu' && opts.only !== 'mig') throw new Error(`--only must be qemu or mig, got ${opts.only}`);
const ramBytes = ramMiB * 1024 * 1024;
// "Unlimited": far above any loopback rate, and within what QEMU 7.2 accepts.
const UNLIMITED_BANDWIDTH = 1e15;

/** A directory for RAM files: under --ram-dir if given (removed by the caller), else a tracked tmpDir. */
async function ramDir(prefix) {
  if (opts['ram-dir'] === undefined) return tmpDir(prefix);
  const dir = await mkdtemp(join(opts['ram-dir'], prefix));
  ramDirs.add(dir);
  return dir;
}
const ramDirs = new Set();
async function removeRamDirs() {
  for (const d of ramDirs) await rm(d, { recursive: true, force: true });
  ramDirs.clear();
}

const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1000);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const log = (s) => console.error(`[bench] ${s}`);

/** Node's raw loopback TCP: a child process reads and discards, this process writes 1 MiB chunks. */
async function measureCeiling(totalBytes) {
  const reader = spawn(process.execPath, ['-e', `
    const net = require('node:net');
    const srv = net.createServer((s) => {
      let n = 0;
      s.on('data', (d) => { n += d.length; });
      s.on('end', () => { process.stdout.write(String(n) + '\\n'); s.end(); srv.close(); });
    });
    srv.listen(0, '127.0.0.1', () => process.stdout.write(srv.address().port + '\\n'));
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  let buf = '';
  const gotLine = () => new Promise((resolve) => {
    const check = () => { if (lines.length > 0) resolve(lines.shift()); else setTimeout(check, 1); };
    check();
  });
  reader.stdout.setEncoding('utf8');
  reader.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) { lines.push(buf.slice(0, i)); buf = buf.slice(i + 1); }
  });
  const port = Number(await gotLine());
  const sock = createConnection({ host: '127.0.0.1', port });
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  const chunk = Buffer.alloc(1 << 20, 0xa5);
  const t0 = performance.now();
  let sent = 0;
  while (sent < totalBytes) {
    sent += chunk.length;
    if (!sock.write(chunk)) await new Promise((resolve) => sock.once('drain', resolve));
  }
  sock.end();
  const received = Number(await gotLine());
  const ms = performance.now() - t0;
  sock.destroy();
  await new Promise((resolve) => reader.once('exit', resolve));
  if (received !== sent) throw new Error(`ceiling: reader got ${received} bytes of ${sent}`);
  return { bytes: sent, ms, mbps: mbps(sent, ms) };
}

/** One migration source → target over tcp loopback; both file-backed. Times migrate → completed. */
async function migrateOnce(kind, ramFile, fileHash) {
  const dir = await tmpDir(`mig-bench-${kind}-`);
  const dstRamDir = await ramDir(`mig-bench-${kind}-dst-`);
  const port = await freePort();
  const uri = `tcp:127.0.0.1:${port}`;
  const target = await launchVm({ kind, ramMiB, ramFile: join(dstRamDir, 'dst.ram'), incoming: uri, dir, name: 'target' });
  const source = await launchVm({ kind, ramMiB, ramFile, dir, name: 'source' });
  await source.qmp.execute('migrate-set-parameters', { 'max-bandwidth': UNLIMITED_BANDWIDTH });
  const t0 = performance.now();
  await source.qmp.execute('migrate', { uri });
  let reply;
  for (;;) {
    reply = await source.qmp.execute('query-migrate');
    if (reply.status === 'completed' || reply.status === 'failed' || reply.status === 'cancelled') break;
    await sleep(5);
  }
  const ms = performance.now() - t0;
  if (reply.status !== 'completed') {
    throw new Error(`${kind} source ended ${reply.status}: ${reply['error-desc'] ?? ''}\n${source.stderr}`);
  }
  const dstReply = await target.waitForMigration(undefined, 120_000);
  if (dstReply.status !== 'completed') {
    throw new Error(`${kind} target ended ${dstReply.status}: ${dstReply['error-desc'] ?? ''}\n${target.stderr}`);
  }
  // Correctness outside the timed window: the target's RAM must equal the source file.
  const dstHash = await target.hashRam();
  if (dstHash !== fileHash) throw new Error(`${kind}: target RAM hash ${dstHash} differs from source ${fileHash}`);
  const transferred = reply.ram?.transferred ?? ramBytes;
  await source.quit();
  await target.quit();
  await cleanupVms();
  await rm(dir, { recursive: true, force: true });
  await rm(dstRamDir, { recursive: true, force: true });
  ramDirs.delete(dstRamDir);
  return { ms, mbps: mbps(ramBytes, ms), transferredBytes: transferred, reportedTotalTimeMs: reply['total-time'] };
}

async function main() {
  const kinds = opts.only !== undefined ? [opts.only] : ['qemu', 'mig'];
  if (kinds.includes('qemu') && findQemu() === undefined) throw new Error('qemu-system-x86_64 not found: apt-get install qemu-system-x86 qemu-utils');
  log(`RAM files in ${opts['ram-dir'] ?? os.tmpdir()}`);
  log(`${ramMiB} MiB random RAM, tcp loopback, max-bandwidth ${UNLIMITED_BANDWIDTH}, ${runs} run(s) each, ${os.cpus().length} cpus`);

  const srcDir = await ramDir('mig-bench-src-');
  const ramFile = join(srcDir, 'src.ram');
  await fillRamFile(ramFile, ramBytes, { seed: 1, zeroFraction: 0 });
  const fileHash = await sha256File(ramFile);

  log('ceiling: node raw loopback TCP, 1 MiB writes');
  const ceilings = [];
  for (let i = 0; i < runs; i++) ceilings.push(await measureCeiling(Math.max(ramBytes, 1 << 30)));
  const ceiling = { mbps: median(ceilings.map((c) => c.mbps)), samples: ceilings };

  const results = {};
  for (const kind of kinds) {
    const samples = [];
    let error;
    for (let i = 0; i < runs && error === undefined; i++) {
      log(`${kind} → ${kind}: run ${i + 1}/${runs}`);
      try {
        samples.push(await migrateOnce(kind, ramFile, fileHash));
      } catch (err) {
        error = err.message;
        log(`${kind} → ${kind} failed: ${err.message}`);
        await cleanupVms().catch(() => undefined);
      }
    }
    results[kind] = samples.length > 0
      ? { ms: median(samples.map((s) => s.ms)), mbps: median(samples.map((s) => s.mbps)), samples, ...(error ? { error } : {}) }
      : { error };
  }
  await cleanupAll();
  await removeRamDirs();

  const ratio = results.mig?.mbps !== undefined && results.qemu?.mbps !== undefined ? results.mig.mbps / results.qemu.mbps : null;
  const rows = [
    ['case', 'time (ms)', 'MB/s', 'of ceiling'],
    ...kinds.map((k) => {
      const r = results[k];
      const name = k === 'mig' ? 'mig-daemon → mig-daemon' : 'QEMU 7.2 → QEMU 7.2';
      return r.mbps !== undefined
        ? [name, r.ms.toFixed(0), r.mbps.toFixed(0), `${((r.mbps / ceiling.mbps) * 100).toFixed(0)}%`]
        : [name, 'failed', '-', '-'];
    }),
    ['node raw TCP loopback (ceiling)', '', ceiling.mbps.toFixed(0), '100%'],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  console.log(`\nRAM ${ramMiB} MiB random, tcp loopback, bandwidth unlimited (MB = 10^6 bytes)`);
  console.log(line(rows[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows.slice(1)) console.log(line(r));
  console.log(`mig / QEMU throughput ratio: ${ratio === null ? 'n/a' : ratio.toFixed(2)}`);
  for (const k of kinds) if (results[k].error) console.log(`${k}: ${results[k].error.split('\n')[0]}`);

  const out = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    ramMiB,
    runs,
    transport: 'tcp:127.0.0.1',
    ramDir: opts['ram-dir'] ?? os.tmpdir(),
    maxBandwidth: UNLIMITED_BANDWIDTH,
    ceiling,
    qemu: results.qemu ?? null,
    mig: results.mig ?? null,
    ratioMigToQemu: ratio,
  };
  log(`wrote ${await writeResult('latest.json', `${JSON.stringify(out, null, 2)}\n`)}`);
  if (kinds.some((k) => results[k].error)) process.exitCode = 1;
}

main().catch(async (err) => {
  console.error(`bench: ${err.stack ?? err}`);
  await cleanupAll().catch(() => undefined);
  await removeRamDirs().catch(() => undefined);
  process.exit(1);
});
