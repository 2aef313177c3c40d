// What a migration's side takes from tls-creds / tls-hostname / tls-authz when it starts: plain data for its
// worker (the PEM text, the checks, a copy of the authz object), or QEMU's error when they name nothing usable.
import type { MigrationParameters } from '@mig/core';
import { QmpError } from '@mig/qmp';
import type { TlsClientOptions, TlsServerOptions } from '@mig/transports';
import { isAllowed, type Authz } from './authz.js';
import { ObjectError } from './props.js';
import type { UserObjects } from './registry.js';

export type PreparedTls =
  | TlsClientOptions
  | (Omit<TlsServerOptions, 'authorize'> & { authz?: Authz });

type TlsParameters = Pick<MigrationParameters, 'tls-creds' | 'tls-hostname' | 'tls-authz'>;

/** The source's TLS, or undefined when tls-creds is empty. Throws an ObjectError with QEMU's words. */
export function outgoingTls(params: TlsParameters, objects: UserObjects): TlsClientOptions | undefined {
  if (params['tls-creds'] === '') return undefined;
  const creds = objects.tlsCreds(params['tls-creds'], 'client');
  const hostname = params['tls-hostname'];
  return { role: 'client', material: creds.material, verifyPeer: creds.verifyPeer, ...(hostname === '' ? {} : { hostname }) };
}

/** The target's TLS (with a copy of the tls-authz object), or undefined when tls-creds is empty. */
export function incomingTls(params: TlsParameters, objects: UserObjects): PreparedTls | undefined {
  if (params['tls-creds'] === '') return undefined;
  const creds = objects.tlsCreds(params['tls-creds'], 'server');
  const authzId = params['tls-authz'];
  const authz = authzId === '' ? undefined : objects.authz(authzId);
  return { role: 'server', material: creds.material, verifyPeer: creds.verifyPeer, ...(authz === undefined ? {} : { authz }) };
}

/** In the worker: the transport's options, with the authz copy asked as QEMU's tlssession.c asks it. */
export function transportTls(prepared: PreparedTls | undefined): TlsClientOptions | TlsServerOptions | undefined {
  if (prepared === undefined || prepared.role === 'client') return prepared;
  const { authz, ...server } = prepared as Omit<TlsServerOptions, 'authorize'> & { authz?: Authz };
  if (authz === undefined) return server;
  return { ...server, authorize: (dn) => (isAllowed(authz, dn) ? undefined : `TLS x509 authz check for ${dn} is denied`) };
}

/** `migrate` / `migrate-incoming`: the side's TLS as a QMP error when it names nothing usable; rdma: has none. */
export function prepareTls<T>(uriText: string, prepare: () => T): T {
  let tls: T;
  try {
    tls = prepare();
  } catch (err) {
    if (err instanceof ObjectError) throw new QmpError('GenericError', err.message);
    throw err;
  }
  if (tls !== undefined && uriText.startsWith('rdma:')) {
    throw new QmpError('GenericError', `${uriText}: TLS is not available for RDMA migration (QEMU 7.2 has none either); clear tls-creds`);
  }
  return tls;
}
