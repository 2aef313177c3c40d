#!/usr/bin/env node
// Fetches QEMU 7.2's own stream analyzer, scripts/analyze-migration.py, into .cache/qemu-analyzer/ (gitignored)
// so interop/analyze-vs-qemu.test.ts can check `mig analyze` against it. The script is QEMU's (LGPL), not
// ours: it is never committed, only taken from Debian's source tarball of QEMU 7.2, pinned by sha256.
// A no-op when the script is already there with the pinned hash. Needs tar with xz (xz-utils).
// Usage: node tooling/qemu-analyzer/fetch.mjs            (prints the script's path)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

const TARBALL_URL = 'http://deb.debian.org/debian/pool/main/q/qemu/qemu_7.2%2bdfsg.orig.tar.xz';
const TARBALL_SHA256 = '91aca71520040edc40b8d437aa3004dae614f58e286cf653ee8996c07af2962f';
// The tarball's top folder is qemu-7.2.0 (not qemu-7.2+dfsg).
const MEMBER = 'qemu-7.2.0/scripts/analyze-migration.py';
const SCRIPT_SHA256 = '3fadb92ba5c134d3e455b12256a7bee860b9fecfd4514cca2f90f80bf09baba6';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cacheDir = join(repo, '.cache', 'qemu-analyzer');
export const ANALYZER_PATH = join(cacheDir, 'analyze-migration.py');

function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Streams the tarball to `dest`, hashing as it goes; throws on an HTTP error or a hash mismatch. */
async function download(dest) {
  const res = await fetch(TARBALL_URL, { signal: AbortSignal.timeout(15 * 60_000) });
  if (!res.ok || !res.body) throw new Error(`GET ${TARBALL_URL}: HTTP ${res.status} ${res.statusText}`);
  const hash = createHash('sha256');
  const body = Readable.fromWeb(res.body);
  body.on('data', (chunk) => hash.update(chunk));
  await pipeline(body, createWriteStream(dest));
  const got = hash.digest('hex');
  if (got !== TARBALL_SHA256) throw new Error(`${TARBALL_URL}: sha256 ${got}, expected ${TARBALL_SHA256}`);
}

function extract(tarball, into) {
  const r = spawnSync('tar', ['-xJf', tarball, '--no-same-owner', '-C', into, MEMBER], { encoding: 'utf8' });
  if (r.error) throw new Error(`tar: ${r.error.message} (install tar and xz-utils)`);
  if (r.status !== 0) throw new Error(`tar -xJf ${relative(repo, tarball)} ${MEMBER}: exit ${r.status}: ${r.stderr.trim()}`);
}

export async function fetchQemuAnalyzer() {
  if (existsSync(ANALYZER_PATH) && sha256(ANALYZER_PATH) === SCRIPT_SHA256) return { path: ANALYZER_PATH, fetched: false };
  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(join(cacheDir, 'fetch-'));
  try {
    const tarball = join(work, 'qemu.orig.tar.xz');
    await download(tarball);
    extract(tarball, work);
    const script = join(work, MEMBER);
    const got = sha256(script);
    if (got !== SCRIPT_SHA256) throw new Error(`${MEMBER}: sha256 ${got}, expected ${SCRIPT_SHA256}`);
    await rename(script, ANALYZER_PATH); // whole or not at all: the no-op check never sees a partial file
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { path: ANALYZER_PATH, fetched: true };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const { path, fetched } = await fetchQemuAnalyzer();
    console.log(`${fetched ? 'fetched' : 'present'}: ${relative(process.cwd(), path)}`);
  } catch (err) {
    console.error(`qemu-analyzer fetch: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
