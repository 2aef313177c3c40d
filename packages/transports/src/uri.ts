import { UriError } from './errors.js';
import type { MigrationUri } from './types.js';

/**
 * QEMU's migration URI syntax, one parse for both directions (migrate and migrate-incoming):
 *   tcp:HOST:PORT   tcp:[IPV6]:PORT   tcp::PORT / tcp:0:PORT (listen on all addresses)
 *   unix:PATH       exec:COMMAND      fd:NAME       rdma:HOST:PORT
 * QEMU's socket options after a comma (`,ipv4`, `,to=`, ...) and service names as ports are not accepted.
 */

const SCHEMES = ['tcp', 'unix', 'exec', 'fd', 'rdma'] as const;
const EXPECTED = 'expected tcp:, unix:, exec:, fd: or rdma:';
/** sun_path holds 108 bytes including the terminating NUL. */
const UNIX_PATH_MAX = 107;
const MAX_QUOTE = 120;

function quote(text: string): string {
  return `'${text.length > MAX_QUOTE ? `${text.slice(0, MAX_QUOTE)}…` : text}'`;
}

export function parseMigrationUri(uri: string): MigrationUri {
  if (typeof uri !== 'string') throw new UriError(String(uri), `migration URI must be a string, got ${typeof uri}`);
  if (uri.length === 0) throw new UriError(uri, `migration URI is empty (${EXPECTED})`);
  const colon = uri.indexOf(':');
  if (colon < 0) throw new UriError(uri, `migration URI ${quote(uri)} has no scheme (${EXPECTED})`);
  const scheme = uri.slice(0, colon);
  const rest = uri.slice(colon + 1);
  switch (scheme) {
    case 'tcp':
    case 'rdma': {
      const { host, port } = parseHostPort(uri, rest);
      return { kind: scheme, host, port };
    }
    case 'unix': {
      if (rest.length === 0) throw new UriError(uri, `migration URI ${quote(uri)} has no socket path`);
      const bytes = Buffer.byteLength(rest);
      if (bytes > UNIX_PATH_MAX) {
        throw new UriError(uri, `migration URI ${quote(uri)} has a socket path of ${bytes} bytes; the limit is ${UNIX_PATH_MAX}`);
      }
      if (rest.includes('\0')) throw new UriError(uri, `migration URI ${quote(uri)} has a NUL byte in its socket path`);
      return { kind: 'unix', path: rest };
    }
    case 'exec': {
      if (rest.trim().length === 0) throw new UriError(uri, `migration URI ${quote(uri)} has no command`);
      if (rest.includes('\0')) throw new UriError(uri, `migration URI ${quote(uri)} has a NUL byte in its command`);
      return { kind: 'exec', command: rest };
    }
    case 'fd': {
      if (rest.length === 0) throw new UriError(uri, `migration URI ${quote(uri)} has no file descriptor name`);
      return { kind: 'fd', name: rest };
    }
    default:
      throw new UriError(uri, `unknown migration URI scheme ${quote(scheme)} in ${quote(uri)} (${EXPECTED})`);
  }
}

function parseHostPort(uri: string, rest: string): { host: string; port: number } {
  let host: string;
  let portText: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw new UriError(uri, `migration URI ${quote(uri)} has an unterminated '[' in its host`);
    host = rest.slice(1, close);
    if (host.length === 0) throw new UriError(uri, `migration URI ${quote(uri)} has an empty host in '[]'`);
    const after = rest.slice(close + 1);
    if (after.length === 0) throw new UriError(uri, `migration URI ${quote(uri)} has no port`);
    if (!after.startsWith(':')) {
      throw new UriError(uri, `migration URI ${quote(uri)} has ${quote(after)} after ']' where ':PORT' was expected`);
    }
    portText = after.slice(1);
  } else {
    const colon = rest.indexOf(':');
    if (colon < 0) throw new UriError(uri, `migration URI ${quote(uri)} has no port`);
    host = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
  }
  if (/\s/.test(host)) throw new UriError(uri, `migration URI ${quote(uri)} has whitespace in its host ${quote(host)}`);
  const comma = portText.indexOf(',');
  if (comma >= 0) {
    throw new UriError(
      uri,
      `migration URI ${quote(uri)} has socket options ${quote(portText.slice(comma))}, which mig does not support`,
    );
  }
  if (portText.length === 0) throw new UriError(uri, `migration URI ${quote(uri)} has no port`);
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new UriError(uri, `migration URI ${quote(uri)} has an invalid port ${quote(portText)} (expected 0-65535)`);
  }
  return { host, port: Number(portText) };
}

/** `tcp::PORT` and `tcp:0:PORT`: listen on every address; connecting to them means this host. */
export function isAnyHost(host: string): boolean {
  return host === '' || host === '0';
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The URI in QEMU's syntax, for log lines and error messages (long exec commands are shortened). */
export function describeUri(uri: MigrationUri): string {
  switch (uri.kind) {
    case 'tcp':
    case 'rdma':
      return `${uri.kind}:${formatHost(uri.host)}:${uri.port}`;
    case 'unix':
      return `unix:${uri.path}`;
    case 'exec':
      return `exec:${uri.command.length > MAX_QUOTE ? `${uri.command.slice(0, MAX_QUOTE)}…` : uri.command}`;
    case 'fd':
      return `fd:${uri.name}`;
  }
}

export const MIGRATION_URI_SCHEMES: readonly string[] = SCHEMES;
