import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { TransportError, errorCode } from './errors.js';

/**
 * TLS over an opened two-way byte stream, as QEMU 7.2 wraps its migration channel (migration/tls.c): the
 * source is the TLS client, the target the server. The material is PEM text (an x509 credentials
 * directory read by the daemon); checks follow QEMU's crypto/tlssession.c: with verify-peer the peer's
 * chain must lead to the CA, the client checks the server's name, the server wants a client certificate
 * and asks its authorizer about the client's distinguished name.
 */

/** PEM text of QEMU's tls-creds-x509 files. */
export interface TlsMaterial {
  /** ca-cert.pem: the CA (or CAs) the peer's certificate must chain to. */
  ca: string;
  /** ca-crl.pem, when present. */
  crl?: string;
  /** server-cert.pem / client-cert.pem (a client may have none). */
  cert?: string;
  /** server-key.pem / client-key.pem. */
  key?: string;
}

export interface TlsClientOptions {
  role: 'client';
  material: TlsMaterial;
  /** verify-peer: check the server's chain and name (QEMU's default: on). */
  verifyPeer: boolean;
  /** The name the server's certificate must carry (tls-hostname, or the tcp: URI's host). */
  hostname?: string;
}

export interface TlsServerOptions {
  role: 'server';
  material: TlsMaterial;
  /** verify-peer: ask for a client certificate, require it and check its chain (QEMU's default: on). */
  verifyPeer: boolean;
  /**
   * tls-authz: given the client certificate's distinguished name (GnuTLS's string, e.g.
   * "C=GB,O=Example,CN=client"), undefined to allow or the reason it is refused.
   */
  authorize?: (distinguishedName: string) => string | undefined;
}

export type TlsOptions = TlsClientOptions | TlsServerOptions;

/** Node's verification codes and TLS alerts, in words. */
const TLS_REASONS: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate signed by unknown authority',
  UNABLE_TO_GET_ISSUER_CERT: 'certificate signed by unknown authority',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'certificate signed by unknown authority',
  SELF_SIGNED_CERT_IN_CHAIN: 'certificate signed by unknown authority',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'certificate signed by unknown authority (self-signed)',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  CERT_REVOKED: 'certificate has been revoked',
  CERT_SIGNATURE_FAILURE: 'certificate signature is invalid',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'client certificate required (the peer asked for one and got none)',
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: 'client certificate required (the peer presented none)',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'the peer does not trust our certificate (unknown CA)',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'the peer refused our certificate (bad certificate)',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'the peer refused our certificate',
  ERR_SSL_TLSV1_ALERT_ACCESS_DENIED: 'the peer denied access',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: 'the peer refused the handshake (a target that requires a client certificate answers so when it gets none)',
  ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR: 'the peer could not verify the handshake (decrypt error)',
  ERR_SSL_WRONG_VERSION_NUMBER: 'the peer does not speak TLS',
  ERR_SSL_HTTP_REQUEST: 'the peer does not speak TLS',
  ERR_SSL_PACKET_LENGTH_TOO_LONG: 'the peer does not speak TLS',
  ERR_SSL_RECORD_LAYER_FAILURE: 'the peer does not speak TLS',
  ECONNRESET: 'the peer closed the connection during the handshake',
  EPIPE: 'the peer closed the connection during the handshake',
};

/** The words for a TLS failure: a known code, else node's message. */
export function describeTlsFailure(err: unknown): string {
  const code = errorCode(err);
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `hostname mismatch: ${(err as Error).message}`;
  if (code !== undefined && TLS_REASONS[code] !== undefined) return TLS_REASONS[code];
  return err instanceof Error ? err.message : String(err);
}

/** Whether a stream error is a TLS one (a verification code, an alert, a protocol error). */
export function isTlsFailure(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || (TLS_REASONS[code] !== undefined && !code.startsWith('E')));
}

function handshakeError(endpoint: string, why: string, cause?: unknown): TransportError {
  return new TransportError(`TLS handshake with ${endpoint} failed: ${why}`, {
    endpoint,
    code: errorCode(cause) ?? 'ETLS',
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * The peer certificate's subject as GnuTLS's gnutls_x509_crt_get_dn prints it, which is what QEMU 7.2 hands
 * its authz object: the RDNs in the certificate's order, comma-separated ("C=GB,O=Example,CN=client"),
 * RFC 4514 escapes in the values (checked against QEMU 7.2 with authz-simple).
 */
export function distinguishedName(raw: Buffer): string {
  return new X509Certificate(raw).subject.split('\n').join(',');
}

/** Runs a TLS handshake on `socket` (a TLSSocket made over the stream); resolves once it is secure. */
function handshake(socket: tls.TLSSocket, secureEvent: 'secureConnect' | 'secure', endpoint: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(handshakeError(endpoint, describeTlsFailure(err), err));
    };
    const onClose = (): void => {
      cleanup();
      reject(handshakeError(endpoint, 'the peer closed the connection during the handshake'));
    };
    const onSecure = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off(secureEvent, onSecure);
    };
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.once(secureEvent, onSecure);
  });
}

/**
 * The source's side: a TLS client over `stream`. Rejects with "TLS handshake with ENDPOINT failed: WHY"
 * (unknown authority, hostname mismatch, a refusal by the peer, ...).
 */
export async function secureClient(stream: Duplex, options: TlsClientOptions, endpoint: string): Promise<tls.TLSSocket> {
  const { material, verifyPeer, hostname } = options;
  if (verifyPeer && (hostname === undefined || hostname === '')) {
    stream.destroy();
    // QEMU 7.2 has no name to check the certificate against either (crypto/tlssession.c)
    throw handshakeError(endpoint, 'no hostname for certificate validation (set the tls-hostname parameter)');
  }
  const socket = tls.connect({
    socket: stream,
    ca: material.ca,
    ...(material.crl === undefined ? {} : { crl: material.crl }),
    ...(material.cert === undefined ? {} : { cert: material.cert, key: material.key }),
    ...(hostname !== undefined && hostname !== '' && isIP(hostname) === 0 ? { servername: hostname } : {}),
    rejectUnauthorized: verifyPeer,
    checkServerIdentity: (_name, cert) => (verifyPeer ? tls.checkServerIdentity(hostname as string, cert) : undefined),
  });
  await handshake(socket, 'secureConnect', endpoint);
  return socket;
}

/**
 * The target's side: a TLS server over `stream`. With verify-peer the client must present a certificate
 * that chains to the CA; then `authorize` sees its distinguished name. Rejects with "TLS handshake with
 * ENDPOINT failed: WHY".
 */
export async function secureServer(stream: Duplex, options: TlsServerOptions, endpoint: string): Promise<tls.TLSSocket> {
  const { material, verifyPeer } = options;
  const socket = new tls.TLSSocket(stream, {
    isServer: true,
    secureContext: tls.createSecureContext({
      // TLS 1.2 at most: a TLS 1.3 server sends session tickets after the handshake, which a QEMU 7.2 source
      // never reads; its close() then resets the connection and the kernel drops the stream's unsent tail
      // (seen as ECONNRESET ~3 MB before the end). TLS 1.2 sends nothing after its handshake, and its
      // handshake also carries the server's refusal of a client certificate.
      maxVersion: 'TLSv1.2',
      ca: material.ca,
      ...(material.crl === undefined ? {} : { crl: material.crl }),
      cert: material.cert,
      key: material.key,
    }),
    requestCert: verifyPeer,
    rejectUnauthorized: verifyPeer,
  });
  await handshake(socket, 'secure', endpoint);
  if (verifyPeer) {
    const peer = socket.getPeerCertificate();
    if (peer.raw === undefined) {
      socket.destroy();
      throw handshakeError(endpoint, 'client certificate required (the peer presented none)');
    }
    const refusal = options.authorize?.(distinguishedName(peer.raw));
    if (refusal !== undefined) {
      socket.destroy();
      throw handshakeError(endpoint, refusal);
    }
  }
  await firstData(socket, endpoint);
  return socket;
}

/**
 * Resolves when the first stream byte arrived (it is put back for the reader). A TLS client checks the
 * server's certificate and name after its handshake is done (node's and QEMU's alike): a source that refuses
 * the target closes the session before sending anything, and that is the target's refusal too, not a stream.
 */
function firstData(socket: tls.TLSSocket, endpoint: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const refused = (why: string, cause?: unknown): void => {
      cleanup();
      socket.destroy();
      reject(handshakeError(endpoint, why, cause));
    };
    const onData = (chunk: Buffer): void => {
      cleanup();
      socket.pause();
      socket.unshift(chunk);
      resolve();
    };
    const onEnd = (): void => refused('the peer closed the session right after the handshake (it refused our certificate or its name?)');
    const onError = (err: Error): void => refused(describeTlsFailure(err), err);
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
  });
}

/** Opens TLS over `stream` for whichever side `options` is. */
export function secureStream(stream: Duplex, options: TlsOptions, endpoint: string): Promise<tls.TLSSocket> {
  return options.role === 'client' ? secureClient(stream, options, endpoint) : secureServer(stream, options, endpoint);
}
