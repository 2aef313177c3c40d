import { describe, expect, it } from 'vitest';
import { UriError } from './errors.js';
import { describeUri, isAnyHost, parseMigrationUri } from './uri.js';

describe('parseMigrationUri', () => {
  it.each([
    ['tcp:127.0.0.1:4444', { kind: 'tcp', host: '127.0.0.1', port: 4444 }],
    ['tcp:localhost:0', { kind: 'tcp', host: 'localhost', port: 0 }],
    ['tcp:[::1]:4444', { kind: 'tcp', host: '::1', port: 4444 }],
    ['tcp:[fe80::1%eth0]:65535', { kind: 'tcp', host: 'fe80::1%eth0', port: 65535 }],
    ['tcp::4444', { kind: 'tcp', host: '', port: 4444 }],
    ['tcp:0:4444', { kind: 'tcp', host: '0', port: 4444 }],
    ['unix:/tmp/mig.sock', { kind: 'unix', path: '/tmp/mig.sock' }],
    ['unix:relative:with:colons', { kind: 'unix', path: 'relative:with:colons' }],
    ['exec:cat > /tmp/x', { kind: 'exec', command: 'cat > /tmp/x' }],
    ['exec:gzip -c | ssh h "cat > a:b"', { kind: 'exec', command: 'gzip -c | ssh h "cat > a:b"' }],
    ['fd:migfd', { kind: 'fd', name: 'migfd' }],
    ['fd:7', { kind: 'fd', name: '7' }],
    ['rdma:10.0.0.1:4444', { kind: 'rdma', host: '10.0.0.1', port: 4444 }],
    ['rdma:[::1]:1', { kind: 'rdma', host: '::1', port: 1 }],
  ])('parses %s', (text, expected) => {
    expect(parseMigrationUri(text)).toEqual(expected);
  });

  it.each([
    ['tcp:host', "migration URI 'tcp:host' has no port"],
    ['tcp:host:', "migration URI 'tcp:host:' has no port"],
    ['tcp:[::1]', "migration URI 'tcp:[::1]' has no port"],
    ['tcp:[::1', "migration URI 'tcp:[::1' has an unterminated '[' in its host"],
    ['tcp:[]:1', "migration URI 'tcp:[]:1' has an empty host in '[]'"],
    ['tcp:[::1]x:1', "migration URI 'tcp:[::1]x:1' has 'x:1' after ']' where ':PORT' was expected"],
    ['tcp:h:abc', "migration URI 'tcp:h:abc' has an invalid port 'abc' (expected 0-65535)"],
    ['tcp:h:65536', "migration URI 'tcp:h:65536' has an invalid port '65536' (expected 0-65535)"],
    ['tcp:h:-1', "migration URI 'tcp:h:-1' has an invalid port '-1' (expected 0-65535)"],
    ['tcp:::1:4444', "migration URI 'tcp:::1:4444' has an invalid port ':1:4444' (expected 0-65535)"],
    ['tcp:h:1,ipv4', "migration URI 'tcp:h:1,ipv4' has socket options ',ipv4', which mig does not support"],
    ['tcp:a b:1', "migration URI 'tcp:a b:1' has whitespace in its host 'a b'"],
    ['rdma:host', "migration URI 'rdma:host' has no port"],
    ['unix:', "migration URI 'unix:' has no socket path"],
    ['exec:', "migration URI 'exec:' has no command"],
    ['exec:   ', "migration URI 'exec:   ' has no command"],
    ['fd:', "migration URI 'fd:' has no file descriptor name"],
    ['foo:bar', "unknown migration URI scheme 'foo' in 'foo:bar' (expected tcp:, unix:, exec:, fd: or rdma:)"],
    ['TCP:h:1', "unknown migration URI scheme 'TCP' in 'TCP:h:1' (expected tcp:, unix:, exec:, fd: or rdma:)"],
    ['nocolon', "migration URI 'nocolon' has no scheme (expected tcp:, unix:, exec:, fd: or rdma:)"],
    ['', 'migration URI is empty (expected tcp:, unix:, exec:, fd: or rdma:)'],
  ])('rejects %j', (text, message) => {
    let caught: unknown;
    try {
      parseMigrationUri(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UriError);
    expect((caught as UriError).message).toBe(message);
    expect((caught as UriError).uri).toBe(text);
  });

  it('rejects a unix path longer than sun_path holds, naming its length', () => {
    const path = `/tmp/${'a'.repeat(103)}`;
    expect(() => parseMigrationUri(`unix:${path}`)).toThrow(/has a socket path of 108 bytes; the limit is 107/);
    expect(parseMigrationUri(`unix:${path.slice(0, -1)}`)).toEqual({ kind: 'unix', path: path.slice(0, -1) });
  });

  it('shortens a very long URI when quoting it', () => {
    const long = `nope:${'x'.repeat(500)}`;
    expect(() => parseMigrationUri(long)).toThrow(/in 'nope:x+…'/);
  });
});

describe('describeUri', () => {
  it.each([
    'tcp:127.0.0.1:4444',
    'tcp:[::1]:4444',
    'tcp::4444',
    'tcp:0:0',
    'unix:/run/mig.sock',
    'exec:cat > /tmp/x',
    'fd:migfd',
    'rdma:[fe80::1]:7',
  ])('formats %s back to the same text', (text) => {
    expect(describeUri(parseMigrationUri(text))).toBe(text);
  });

  it('shortens long exec commands for log lines', () => {
    const text = describeUri({ kind: 'exec', command: `echo ${'y'.repeat(300)}` });
    expect(text.length).toBe('exec:'.length + 121);
    expect(text.endsWith('…')).toBe(true);
  });
});

describe('isAnyHost', () => {
  it('is true for the two spellings of "every address" only', () => {
    expect(isAnyHost('')).toBe(true);
    expect(isAnyHost('0')).toBe(true);
    expect(isAnyHost('0.0.0.0')).toBe(false);
    expect(isAnyHost('localhost')).toBe(false);
  });
});
