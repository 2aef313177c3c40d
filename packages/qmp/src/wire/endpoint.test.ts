import { describe, expect, it } from 'vitest';
import { formatEndpoint, parseEndpoint } from './endpoint.js';

describe('endpoints', () => {
  it.each([
    ['unix:/tmp/q.sock', { kind: 'unix', path: '/tmp/q.sock' }],
    ['unix:/tmp/q.sock,server=on,wait=off', { kind: 'unix', path: '/tmp/q.sock' }],
    ['tcp:127.0.0.1:4444', { kind: 'tcp', host: '127.0.0.1', port: 4444 }],
    ['tcp:[::1]:5', { kind: 'tcp', host: '::1', port: 5 }],
    ['tcp::5', { kind: 'tcp', host: '127.0.0.1', port: 5 }],
  ])('%s', (s, ep) => {
    expect(parseEndpoint(s)).toEqual(ep);
  });

  it.each([
    ['unix:', 'unix socket path is empty'],
    ['tcp:host', 'expected tcp:HOST:PORT'],
    ['tcp:h:70000', 'port 70000 is out of range'],
    ['stdio', 'expected unix:PATH or tcp:HOST:PORT'],
  ])('%s is refused: %s', (s, msg) => {
    expect(() => parseEndpoint(s)).toThrow(`QMP endpoint '${s}': ${msg}`);
  });

  it('formats', () => {
    expect(formatEndpoint({ kind: 'tcp', host: '::1', port: 1 })).toBe('tcp:[::1]:1');
    expect(formatEndpoint({ kind: 'unix', path: '/x' })).toBe('unix:/x');
  });
});
