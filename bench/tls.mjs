#!/usr/bin/env node
// Benchmark: guest RAM of random bytes migrated over TLS on tcp loopback at unlimited bandwidth,
// mig-daemon → mig-daemon next to QEMU 7.2 → QEMU 7.2 in the same run, and each pair in the clear for
// comparison (what TLS costs). Certificates from openssl (test-helpers' makeTlsDirs); RAM checked equal
// after every run, outside the timed window. Prints a table and writes bench/results/tls.json.
//
//   node bench/tls.mjs [--ram-mib N] [--runs N]
import { join } from 'node:path';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { helpers, writeResult } from './common.mjs';

const { cleanupAll, cleanupVms, fillRamFile, findQemu, freePort, launchVm, makeTlsDirs, sha256File, tmpDir } = helpers;

const { values: opts } = parseArgs({ options: { 'ram-mib': { type: 'string', default: '512' }, runs: { type: 'string', default: '3' } } });
const ramMiB = Number(opts['ram-mib']);
const runs = Number(opts.runs);
if (!Number.isInteger(ramMiB) || ramMiB <= 0) throw new Error(`--ram-mib must be a positive integer, got ${opts['ram-mib']}`);
if (!Number.isInteger(runs) || runs <= 0) throw new Error(`--runs must be a positive integer, got ${opts.runs}`);
const ramBytes = ramMiB << 20;
const UNLIMITED_BANDWIDTH = 1e15;
const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1000);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const log = (s) => console.error(`[bench tls] ${s}`);

/** One migration over tcp loopback, with TLS when `certs` is given; returns ms from migrate to completed. */
async function migrateOnce(kind, certs, ramFile, fileHash) {
  const dir = await tmpDir(`mig-bench-tls-${kind}-`);
  const port = await freePort();
  const uri = `tcp:127.0.0.1:${port}`;
  const target = await launchVm({
    kind, ramMiB, ramFile: join(dir, 'dst.ram'), incoming: 'defer', dir, name: 'target',
    extraArgs: certs ? ['-object', `tls-creds-x509,id=tls0,dir=${certs.serverDir},endpoint=server`] : [],
  });
  if (certs) await target.qmp.execute('migrate-set-parameters', { 'tls-creds': 'tls0' });
  await target.qmp.execute('migrate-incoming', { uri });
  const source = await launchVm({
    kind, ramMiB, ramFile, dir, name: 'source',
    extraArgs: certs ? ['-object', `tls-creds-x509,id=tls0,dir=${certs.clientDir},endpoint=client`] : [],
  });
  await source.qmp.execute('migrate-set-parameters', { 'max-bandwidth': UNLIMITED_BANDWIDTH, ...(certs ? { 'tls-creds': 'tls0' } : {}) });
  const t0 = performance.now();
  await source.qmp.execute('migrate', { uri });
  const reply = await source.waitForMigration(undefined, 300_000);
  const ms = performance.now() - t0;
  if (reply.status !== 'completed') throw new Error(`${kind} source ended ${reply.status}: ${reply['error-desc'] ?? ''}`);
  const dstReply = await target.waitForMigration(undefined, 120_000);
  if (dstReply.status !== 'completed') throw new Error(`${kind} target ended ${dstReply.status}: ${dstReply['error-desc'] ?? ''}`);
  const dstHash = await target.hashRam();
  if (dstHash !== fileHash) throw new Error(`${kind}: target RAM hash ${dstHash} differs from source ${fileHash}`);
  await source.quit();
  await target.quit();
  await cleanupVms();
  return ms;
}

async function main() {
  if (findQemu() === undefined) throw new Error('qemu-system-x86_64 not found: apt-get install qemu-system-x86 qemu-utils');
  log(`${ramMiB} MiB random RAM, tcp loopback, unlimited, ${runs} run(s) per case, ${os.cpus().length} cpus`);
  const certs = await makeTlsDirs();
  const srcDir = await tmpDir('mig-bench-tls-src-');
  const ramFile = join(srcDir, 'src.ram');
  await fillRamFile(ramFile, ramBytes, { seed: 3, zeroFraction: 0 });
  const fileHash = await sha256File(ramFile);
  const cases = [['qemu', true], ['mig', true], ['qemu', false], ['mig', false]];
  const results = {};
  // runs alternate between the cases, so that a slow spell of the machine does not land on one case only
  for (let i = 0; i < runs; i++) {
    for (const [kind, tls] of cases) {
      const key = `${kind}${tls ? '-tls' : '-plain'}`;
      log(`${key}: run ${i + 1}/${runs}`);
      const ms = await migrateOnce(kind, tls ? certs : undefined, ramFile, fileHash);
      (results[key] ??= []).push(ms);
    }
  }
  await cleanupAll();
  const row = (key) => ({ ms: median(results[key]), mbps: mbps(ramBytes, median(results[key])), samples: results[key] });
  const table = Object.fromEntries(Object.keys(results).map((k) => [k, row(k)]));
  console.log(`\nRAM ${ramMiB} MiB random, tcp loopback, unlimited, median of ${runs} (MB = 10^6 bytes)`);
  console.log(`${'case'.padEnd(32)}  MB/s   TLS / plain`);
  for (const kind of ['qemu', 'mig']) {
    const name = kind === 'mig' ? 'mig-daemon → mig-daemon' : 'QEMU 7.2 → QEMU 7.2';
    const t = table[`${kind}-tls`];
    const p = table[`${kind}-plain`];
    console.log(`${`${name}, TLS`.padEnd(32)}${t.mbps.toFixed(0).padStart(6)}   ${(t.mbps / p.mbps).toFixed(2)}`);
    console.log(`${`${name}, plain`.padEnd(32)}${p.mbps.toFixed(0).padStart(6)}`);
  }
  console.log(`mig / QEMU over TLS: ${(table['mig-tls'].mbps / table['qemu-tls'].mbps).toFixed(2)}`);
  const file = await writeResult('tls.json', `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, ramMiB, runs, results: table }, null, 2)}\n`);
  log(`wrote ${file}`);
}

main().catch(async (err) => {
  console.error(`[bench tls] ${err.stack ?? err}`);
  await cleanupAll().catch(() => undefined);
  process.exit(1);
});
