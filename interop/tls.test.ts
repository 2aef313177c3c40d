// Migration over TLS (tls-creds-x509, tls-hostname, tls-authz) between QEMU 7.2 and mig-daemon, with
// certificates made here by openssl: RAM equal on both ends when it works; when the TLS checks refuse the
// connection, a clear error on both ends and the source guest running on with its RAM intact.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupAll, fillRamFile, freePort, launchVm, makeTlsDirs, QEMU_SKIP_MESSAGE, requireQemu, sha256File, startMigration,
  tmpDir, type QueryMigrateReply, type TlsDirs, type Vm, type VmKind,
} from '@mig/test-helpers';

const hasQemu = requireQemu();
const RAM_MIB = 32;
const DN = 'C=GB,O=mig tests,CN=source.example'; // the client certificate's subject as GnuTLS prints it

let certs: TlsDirs;
let otherCa: TlsDirs;
/** The certificates' directory: kept across tests (cleanupAll removes the tests' own tmpDirs). */
let certRoot = '';

/** QEMU's option syntax doubles a comma inside a value. */
const opt = (value: string): string => value.replaceAll(',', ',,');

interface TlsCase {
  src: VmKind;
  dst: VmKind;
  /** The source's credentials directory; undefined: a plain source (no tls-creds). */
  srcDir?: (c: TlsDirs, other: TlsDirs) => string;
  srcHostname?: string;
  /** The target's tls-authz object, as -object text (id auth0). */
  authz?: string;
}

interface TlsRun {
  source: Vm;
  target: Vm;
  fileHash: string;
  srcReply: QueryMigrateReply;
}

async function migrateOverTls(c: TlsCase, seed: number): Promise<TlsRun> {
  const dir = await tmpDir(`mig-tls-${c.src}-${c.dst}-`);
  const ramFile = join(dir, 'src.ram');
  await fillRamFile(ramFile, RAM_MIB << 20, { seed, zeroFraction: 0.3 });
  const fileHash = await sha256File(ramFile);
  const port = await freePort();
  const target = await launchVm({
    kind: c.dst, ramMiB: RAM_MIB, incoming: 'defer', dir, name: 'target',
    extraArgs: [
      '-object', `tls-creds-x509,id=tls0,dir=${certs.serverDir},endpoint=server`,
      ...(c.authz === undefined ? [] : ['-object', c.authz]),
    ],
  });
  await target.qmp.execute('migrate-set-parameters', { 'tls-creds': 'tls0', ...(c.authz === undefined ? {} : { 'tls-authz': 'auth0' }) });
  await target.qmp.execute('migrate-incoming', { uri: `tcp:127.0.0.1:${port}` });
  const srcDir = c.srcDir?.(certs, otherCa);
  const source = await launchVm({
    kind: c.src, ramMiB: RAM_MIB, ramFile, dir, name: 'source',
    extraArgs: srcDir === undefined ? [] : ['-object', `tls-creds-x509,id=tls0,dir=${srcDir},endpoint=client`],
  });
  if (srcDir !== undefined) {
    await source.qmp.execute('migrate-set-parameters', { 'tls-creds': 'tls0', ...(c.srcHostname === undefined ? {} : { 'tls-hostname': c.srcHostname }) });
  }
  await startMigration(source, `tcp:127.0.0.1:${port}`);
  const srcReply = await source.waitForMigration(undefined, 60_000);
  return { source, target, fileHash, srcReply };
}

/** The source is back to running with the RAM it had; the target did not start a guest. */
async function expectSourceIntact(r: TlsRun): Promise<void> {
  expect(r.srcReply.status, JSON.stringify(r.srcReply)).toBe('failed');
  expect(await r.source.runState()).toBe('running');
  expect(await r.source.hashRam()).toBe(r.fileHash);
  if (r.target.proc.exitCode === null) expect(await r.target.runState()).toBe('inmigrate');
}

/** Waits for `pattern` on a process's stderr (a refused peer is only reported there, by QEMU and by mig). */
async function stderrShows(vm: Vm, pattern: RegExp): Promise<void> {
  await expect.poll(() => vm.stderr, { timeout: 20_000, interval: 100 }).toMatch(pattern);
}

const fromClient = (c: TlsDirs): string => c.clientDir;

describe.skipIf(!hasQemu)(`TLS migration${hasQemu ? '' : ` (${QEMU_SKIP_MESSAGE})`}`, () => {
  beforeAll(async () => {
    certRoot = await mkdtemp(join(tmpdir(), 'mig-tls-certs-'));
    certs = await makeTlsDirs({ dir: join(certRoot, 'ca') });
    otherCa = await makeTlsDirs({ caName: 'another CA', dir: join(certRoot, 'other') });
    expect(certs.clientDn.split(',').reverse().join(',')).toBe(DN); // openssl prints RFC 2253 order, GnuTLS the other
  }, 60_000);
  afterEach(cleanupAll);
  afterAll(() => rm(certRoot, { recursive: true, force: true }));

  const working: Array<[string, TlsCase]> = [
    ['QEMU → mig', { src: 'qemu', dst: 'mig', srcDir: fromClient }],
    ['mig → QEMU', { src: 'mig', dst: 'qemu', srcDir: fromClient }],
    ['mig → mig', { src: 'mig', dst: 'mig', srcDir: fromClient }],
    // the identity mig's authz sees is the one QEMU's sees, and the other way round
    ['QEMU → mig, authz-list glob allowing the client', {
      src: 'qemu', dst: 'mig', srcDir: fromClient,
      authz: JSON.stringify({ 'qom-type': 'authz-list', id: 'auth0', policy: 'deny', rules: [{ match: 'C=GB,O=mig tests,CN=*', policy: 'allow', format: 'glob' }] }),
    }],
    ['mig → QEMU, authz-simple with the client DN', { src: 'mig', dst: 'qemu', srcDir: fromClient, authz: `authz-simple,id=auth0,identity=${opt(DN)}` }],
  ];
  for (const [i, [name, c]] of working.entries()) {
    it(`${name} over TLS on tcp: RAM equal on both ends`, async () => {
      const r = await migrateOverTls(c, 300 + i);
      expect(r.srcReply.status, `${JSON.stringify(r.srcReply)}\n${r.source.stderr}`).toBe('completed');
      const dstReply = await r.target.waitForMigration(undefined, 60_000);
      expect(dstReply.status, `${JSON.stringify(dstReply)}\n${r.target.stderr}`).toBe('completed');
      expect(await r.source.hashRam()).toBe(r.fileHash);
      expect(await r.target.hashRam()).toBe(r.fileHash);
    }, 120_000);
  }

  it('a source trusting another CA (mig → QEMU): unknown authority', async () => {
    const r = await migrateOverTls({ src: 'mig', dst: 'qemu', srcDir: (_c, other) => other.clientDir }, 400);
    expect(r.srcReply['error-desc']).toMatch(/^TLS handshake with tcp:127\.0\.0\.1:\d+ failed: certificate signed by unknown authority$/);
    await stderrShows(r.target, /Verify failed|TLS handshake failed/);
    await expectSourceIntact(r);
  }, 120_000);

  it('a source trusting another CA (QEMU → mig): the target names the refused peer and waits on', async () => {
    const r = await migrateOverTls({ src: 'qemu', dst: 'mig', srcDir: (_c, other) => other.clientDir }, 401);
    // mig's target (TLS 1.2) refuses the certificate of the unknown CA within the handshake, with an alert
    expect(r.srcReply['error-desc']).toMatch(/^TLS handshake failed: A TLS fatal alert has been received|The certificate hasn't got a known issuer/);
    await stderrShows(r.target, /incoming migration: TLS handshake with tcp:127\.0\.0\.1:\d+ from 127\.0\.0\.1:\d+ failed: .+; still waiting for a stream/);
    await expectSourceIntact(r);
    expect(((await r.target.qmp.execute('query-migrate')) as QueryMigrateReply).status).toBe('setup');
  }, 120_000);

  it('a wrong tls-hostname (mig → mig): hostname mismatch; the target counts it refused and waits on', async () => {
    const r = await migrateOverTls({ src: 'mig', dst: 'mig', srcDir: fromClient, srcHostname: 'wrong.example' }, 402);
    expect(r.srcReply['error-desc']).toMatch(/^TLS handshake with tcp:127\.0\.0\.1:\d+ failed: hostname mismatch: .*wrong\.example/);
    // the target's handshake had passed (a client checks the name after it); the session closing before any
    // byte is a refused peer (QEMU 7.2's target instead fails its load and exits)
    await stderrShows(r.target, /failed: the peer closed the session right after the handshake .*; still waiting for a stream/);
    expect(((await r.target.qmp.execute('query-migrate')) as QueryMigrateReply).status).toBe('setup');
    await expectSourceIntact(r);
  }, 120_000);

  it('a wrong tls-hostname (QEMU source → mig): QEMU says the certificate does not match', async () => {
    const r = await migrateOverTls({ src: 'qemu', dst: 'mig', srcDir: fromClient, srcHostname: 'wrong.example' }, 403);
    expect(r.srcReply['error-desc']).toBe('Certificate does not match the hostname wrong.example');
    await expectSourceIntact(r);
  }, 120_000);

  it('a target requiring a client certificate the source lacks (QEMU → mig)', async () => {
    const r = await migrateOverTls({ src: 'qemu', dst: 'mig', srcDir: (c) => c.clientNoCertDir }, 404);
    await stderrShows(r.target, /incoming migration: TLS handshake with .* failed: client certificate required/);
    await expectSourceIntact(r);
  }, 120_000);

  it('a target requiring a client certificate the source lacks (mig → QEMU)', async () => {
    const r = await migrateOverTls({ src: 'mig', dst: 'qemu', srcDir: (c) => c.clientNoCertDir }, 405);
    expect(r.srcReply['error-desc']).toMatch(/TLS|peer (closed|reset)/);
    await stderrShows(r.target, /Verify failed: No certificate was found/);
    await expectSourceIntact(r);
  }, 120_000);

  it('a plain source against a TLS target (mig → QEMU, QEMU → mig)', async () => {
    const toQemu = await migrateOverTls({ src: 'mig', dst: 'qemu' }, 406);
    expect(toQemu.srcReply['error-desc']).toMatch(/peer (closed|reset) the migration stream|broken pipe|connection reset/);
    await stderrShows(toQemu.target, /TLS handshake failed/);
    await expectSourceIntact(toQemu);
    const toMig = await migrateOverTls({ src: 'qemu', dst: 'mig' }, 407);
    await stderrShows(toMig.target, /incoming migration: TLS handshake with .* failed: the peer does not speak TLS/);
    await expectSourceIntact(toMig);
  }, 180_000);

  it('tls-authz denying the client identity (QEMU → mig, mig → QEMU)', async () => {
    const deny = `authz-simple,id=auth0,identity=${opt('C=GB,O=mig tests,CN=someone.else')}`;
    const toMig = await migrateOverTls({ src: 'qemu', dst: 'mig', srcDir: fromClient, authz: deny }, 408);
    await stderrShows(toMig.target, new RegExp(`failed: TLS x509 authz check for ${DN} is denied; still waiting`));
    await expectSourceIntact(toMig);
    const toQemu = await migrateOverTls({ src: 'mig', dst: 'qemu', srcDir: fromClient, authz: deny }, 409);
    await stderrShows(toQemu.target, new RegExp(`TLS x509 authz check for ${DN} is denied`));
    expect(toQemu.srcReply['error-desc']).toMatch(/TLS|peer (closed|reset)/);
    await expectSourceIntact(toQemu);
  }, 180_000);
});
