import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, closeDescriptor, makeTlsDirs, pipePair, tmpDir, type TlsDirs } from '@mig/test-helpers';
import type { TransportError } from './errors.js';
import { listenIncoming, openOutgoing } from './open.js';
import type { WritableSink } from './sink.js';
import type { TlsClientOptions, TlsMaterial, TlsServerOptions } from './tls.js';
import type { ByteSource, TransportContext } from './types.js';
import { parseMigrationUri } from './uri.js';

const MiB = 1024 * 1024;
let certs: TlsDirs;
let otherCa: TlsDirs;
let data: Buffer;
let dir: string;

const pem = (d: string, f: string): string => readFileSync(join(d, f), 'utf8');
function material(d: string, who: 'server' | 'client' | 'none'): TlsMaterial {
  return { ca: pem(d, 'ca-cert.pem'), ...(who === 'none' ? {} : { cert: pem(d, `${who}-cert.pem`), key: pem(d, `${who}-key.pem`) }) };
}
const client = (over: Partial<TlsClientOptions> = {}): TlsClientOptions => ({
  role: 'client', material: material(certs.clientDir, 'client'), verifyPeer: true, ...over,
});
const server = (over: Partial<TlsServerOptions> = {}): TlsServerOptions => ({
  role: 'server', material: material(certs.serverDir, 'server'), verifyPeer: true, ...over,
});

beforeAll(async () => {
  certs = await makeTlsDirs();
  otherCa = await makeTlsDirs({ caName: 'another CA' });
  data = randomBytes(24 * MiB);
  dir = await tmpDir('mig-tls-transport-');
}, 60_000);
afterAll(cleanupAll);

async function writeAll(sink: WritableSink, bytes: Buffer): Promise<void> {
  for (let at = 0; at < bytes.length; at += 1 * MiB + 7) await sink.write(bytes.subarray(at, Math.min(bytes.length, at + 1 * MiB + 7)));
  await sink.end();
}

async function hashAll(source: ByteSource): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of source) hash.update(chunk);
  return hash.digest('hex');
}

/** Listens with `incoming`, connects with `outgoing`; the refusals the listener reported come back too. */
async function attempt(uri: string, incoming: TransportContext, outgoing: TransportContext, connectUri?: (address: string) => string) {
  const refused: TransportError[] = [];
  const listener = await listenIncoming(parseMigrationUri(uri), { ...incoming, onTlsRefused: (e) => refused.push(e) });
  const target = connectUri?.(listener.address as string) ?? (listener.address as string);
  return { listener, refused, open: () => openOutgoing(parseMigrationUri(target), outgoing) };
}

describe('TLS over the migration transports', () => {
  it.each(['tcp:127.0.0.1:0', 'unix'])('%s: the bytes arrive whole, encrypted both ways', async (kind) => {
    const uri = kind === 'unix' ? `unix:${join(dir, 'tls.sock')}` : kind;
    const { listener, open } = await attempt(uri, { tls: server() }, { tls: client({ hostname: 'localhost' }) });
    const accepted = listener.accept().then(hashAll);
    const sink = await open();
    await writeAll(sink, data);
    expect(await accepted).toBe(createHash('sha256').update(data).digest('hex'));
    await listener.close();
  }, 60_000);

  it("exec: TLS over the command's stdin and stdout (a relay to a unix listener)", async () => {
    const sock = join(dir, 'relay.sock');
    const relay = `const s=require('net').connect(${JSON.stringify(sock)});process.stdin.pipe(s);s.pipe(process.stdout)`;
    const { listener, open } = await attempt(`unix:${sock}`, { tls: server() }, { tls: client({ hostname: 'localhost' }) },
      () => `exec:${process.execPath} -e "${relay.replaceAll('"', '\\"')}"`);
    const accepted = listener.accept().then(hashAll);
    await writeAll(await open(), data);
    expect(await accepted).toBe(createHash('sha256').update(data).digest('hex'));
  }, 60_000);

  it('tcp: the name checked is the URI host unless a hostname is given', async () => {
    const a = await attempt('tcp:127.0.0.1:0', { tls: server() }, { tls: client() });
    const accepted = a.listener.accept();
    await writeAll(await a.open(), Buffer.from('by ip'));
    expect(await hashAll(await accepted)).toBe(createHash('sha256').update('by ip').digest('hex'));
  }, 30_000);

  it('a server signed by another CA: unknown authority, the listener goes on listening', async () => {
    const a = await attempt('tcp:127.0.0.1:0', { tls: server() }, { tls: client({ material: material(otherCa.clientDir, 'client') }) });
    await expect(a.open()).rejects.toThrow(/^TLS handshake with tcp:127\.0\.0\.1:\d+ failed: certificate signed by unknown authority$/);
    await expect.poll(() => a.refused.length).toBe(1);
    // then a good source still gets in
    const accepted = a.listener.accept();
    await writeAll(await openOutgoing(parseMigrationUri(a.listener.address), { tls: client() }), Buffer.from('late'));
    expect(await hashAll(await accepted)).toBe(createHash('sha256').update('late').digest('hex'));
    await expect.poll(() => a.refused.length).toBe(1);
    expect(a.refused[0]?.message).toMatch(/^TLS handshake with tcp:127\.0\.0\.1:\d+ from 127\.0\.0\.1:\d+ failed: /);
  }, 30_000);

  it('a wrong hostname: hostname mismatch', async () => {
    const a = await attempt('tcp:127.0.0.1:0', { tls: server() }, { tls: client({ hostname: 'wrong.example' }) });
    await expect(a.open()).rejects.toThrow(/^TLS handshake with tcp:127\.0\.0\.1:\d+ failed: hostname mismatch: .*wrong\.example/);
    // the target's handshake had passed: the session closing before any byte is its refusal too
    await expect.poll(() => a.refused.length).toBe(1);
    expect(a.refused[0]?.message).toMatch(/failed: the peer closed the session right after the handshake/);
    await a.listener.close();
  }, 30_000);

  it('unix without a hostname: no name to check the certificate against', async () => {
    const a = await attempt(`unix:${join(dir, 'noname.sock')}`, { tls: server() }, { tls: client() });
    await expect(a.open()).rejects.toThrow(/failed: no hostname for certificate validation \(set the tls-hostname parameter\)$/);
    await a.listener.close();
  }, 30_000);

  it('verify-peer off on both ends: no certificate checks', async () => {
    const a = await attempt('tcp:127.0.0.1:0', { tls: server({ verifyPeer: false }) },
      { tls: client({ material: material(otherCa.clientDir, 'none'), verifyPeer: false, hostname: 'wrong.example' }) });
    const accepted = a.listener.accept();
    await writeAll(await a.open(), Buffer.from('unchecked'));
    expect(await hashAll(await accepted)).toBe(createHash('sha256').update('unchecked').digest('hex'));
  }, 30_000);

  it('a source without a client certificate: the target refuses it and says so; the source hears it', async () => {
    const a = await attempt('tcp:127.0.0.1:0', { tls: server() }, { tls: client({ material: material(certs.clientDir, 'none') }) });
    await expect(a.open()).rejects.toThrow(
      /^TLS handshake with tcp:127\.0\.0\.1:\d+ failed: the peer refused the handshake \(a target that requires a client certificate/,
    );
    await expect.poll(() => a.refused.length).toBe(1);
    expect(a.refused[0]?.message).toMatch(/failed: client certificate required/);
    await a.listener.close();
  }, 30_000);

  it('authorize sees the client DN in GnuTLS order and can refuse it', async () => {
    const seen: string[] = [];
    const a = await attempt('tcp:127.0.0.1:0', {
      tls: server({ authorize: (dn) => (seen.push(dn), `TLS x509 authz check for ${dn} is denied`) }),
    }, { tls: client() });
    const failed = a.open().then((sink) => writeAll(sink, data));
    await expect(failed).rejects.toThrow(/TLS|peer closed|reset/);
    await expect.poll(() => a.refused.length).toBe(1);
    expect(seen).toEqual(['C=GB,O=mig tests,CN=source.example']);
    expect(a.refused[0]?.message).toMatch(/failed: TLS x509 authz check for C=GB,O=mig tests,CN=source\.example is denied$/);
    await a.listener.close();
  }, 30_000);

  it('a plain source against a TLS target: refused as not TLS', async () => {
    const a = await attempt('tcp:127.0.0.1:0', { tls: server() }, {});
    const failed = a.open().then((sink) => writeAll(sink, data));
    await expect(failed).rejects.toThrow(/peer (closed|reset)|broken pipe|connection reset/);
    await expect.poll(() => a.refused.length).toBe(1);
    expect(a.refused[0]?.message).toMatch(/failed: /);
    await a.listener.close();
  }, 30_000);

  it('fd: a pipe cannot carry TLS (the descriptor is closed)', async () => {
    const p = pipePair();
    const uri = parseMigrationUri('fd:mig');
    await expect(openOutgoing(uri, { takeDescriptor: () => p.write, tls: client() })).rejects.toThrow(
      `cannot use fd:mig (descriptor ${p.write}) with TLS: it is a pipe, and TLS needs a two-way socket`,
    );
    closeDescriptor(p.read);
  });
});
