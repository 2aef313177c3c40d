/** Where a QMP socket lives. */
export type QmpEndpoint = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** `unix:/x` or `tcp:host:port`, as in error messages and QEMU's `-qmp` option. */
export function formatEndpoint(ep: QmpEndpoint): string {
  if (ep.kind === 'unix') return `unix:${ep.path}`;
  const host = ep.host.includes(':') ? `[${ep.host}]` : ep.host;
  return `tcp:${host}:${ep.port}`;
}

export class EndpointError extends Error {
  override readonly name = 'EndpointError';
}

/** Accepts an endpoint object or `unix:PATH` / `tcp:HOST:PORT` (QEMU's `,server=on,...` options are ignored). */
export function parseEndpoint(input: QmpEndpoint | string): QmpEndpoint {
  if (typeof input !== 'string') return input;
  const spec = input.split(',')[0] ?? '';
  if (spec.startsWith('unix:')) {
    const path = spec.slice(5);
    if (path === '') throw new EndpointError(`QMP endpoint '${input}': unix socket path is empty`);
    return { kind: 'unix', path };
  }
  if (spec.startsWith('tcp:')) {
    const rest = spec.slice(4);
    const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(rest);
    if (!m) throw new EndpointError(`QMP endpoint '${input}': expected tcp:HOST:PORT`);
    const port = Number(m[3]);
    if (port > 65535) throw new EndpointError(`QMP endpoint '${input}': port ${port} is out of range`);
    return { kind: 'tcp', host: m[1] ?? (m[2] || '127.0.0.1'), port };
  }
  throw new EndpointError(`QMP endpoint '${input}': expected unix:PATH or tcp:HOST:PORT`);
}
