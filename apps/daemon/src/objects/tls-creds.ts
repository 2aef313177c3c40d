// tls-creds-x509: QEMU 7.2's x509 credentials object (crypto/tlscredsx509.c) — a directory of PEM files
// read when the object is made, so that a missing file is the object's error and not a migration's.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TlsMaterial } from '@mig/transports';
import { boolProp, checkKnown, enumProp, ObjectError, stringProp, type ObjectProps } from './props.js';

export type TlsEndpoint = 'client' | 'server';

export interface TlsCredsX509 {
  readonly type: 'tls-creds-x509';
  readonly id: string;
  readonly endpoint: TlsEndpoint;
  readonly verifyPeer: boolean;
  readonly dir: string;
  /** The PEM text, as read when the object was made. */
  readonly material: TlsMaterial;
}

/** Reads a file of the directory; `required` missing: QEMU's "Unable to access credentials PATH: REASON". */
type ReadCredential = (path: string) => string;

const readText: ReadCredential = (path) => readFileSync(path, 'utf8');

function errnoWords(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') return 'No such file or directory';
  if (code === 'EACCES') return 'Permission denied';
  if (code === 'EISDIR') return 'Is a directory';
  return (err as Error).message;
}

function credential(dir: string, file: string, required: boolean, read: ReadCredential): string | undefined {
  const path = join(dir, file);
  try {
    return read(path);
  } catch (err) {
    if (!required && (err as { code?: string }).code === 'ENOENT') return undefined;
    throw new ObjectError(`Unable to access credentials ${path}: ${errnoWords(err)}`);
  }
}

/** A certificate file that does not parse: named, as QEMU's "Unable to import certificate". */
function checkCertificate(dir: string, file: string, text: string | undefined): void {
  if (text === undefined) return;
  try {
    new X509Certificate(text);
  } catch (err) {
    throw new ObjectError(`Unable to import certificate ${join(dir, file)}: ${(err as Error).message}`);
  }
}

/**
 * QEMU's rules: ca-cert.pem always; a server needs server-cert.pem and server-key.pem; a client's
 * client-cert.pem / client-key.pem are optional (without them it presents no certificate); ca-crl.pem is
 * optional for both. Defaults: endpoint=client, verify-peer=on.
 */
export function createTlsCredsX509(id: string, props: ObjectProps, read: ReadCredential = readText): TlsCredsX509 {
  checkKnown(props, ['dir', 'endpoint', 'verify-peer', 'sanity-check', 'loaded', 'priority', 'passwordid']);
  const endpoint = enumProp(props, 'endpoint', ['client', 'server'] as const, 'client');
  const verifyPeer = boolProp(props, 'verify-peer', true);
  const dir = stringProp(props, 'dir');
  if (dir === undefined || dir === '') throw new ObjectError("Missing 'dir' property value");
  const ca = credential(dir, 'ca-cert.pem', true, read) as string;
  const crl = credential(dir, 'ca-crl.pem', false, read);
  const own = endpoint === 'server' ? 'server' : 'client';
  const required = endpoint === 'server';
  const cert = credential(dir, `${own}-cert.pem`, required, read);
  const key = credential(dir, `${own}-key.pem`, required, read);
  if ((cert === undefined) !== (key === undefined)) {
    throw new ObjectError(`Unable to access credentials ${join(dir, cert === undefined ? `${own}-cert.pem` : `${own}-key.pem`)}: No such file or directory`);
  }
  checkCertificate(dir, 'ca-cert.pem', ca);
  checkCertificate(dir, `${own}-cert.pem`, cert);
  const material: TlsMaterial = { ca, ...(crl === undefined ? {} : { crl }), ...(cert === undefined ? {} : { cert, key: key as string }) };
  return { type: 'tls-creds-x509', id, endpoint, verifyPeer, dir, material };
}
