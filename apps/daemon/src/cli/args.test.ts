import { describe, expect, it } from 'vitest';
import { parseDaemonArgs, UsageError } from './args.js';
import { parseSize } from './size.js';

const qmp = ['-qmp', 'unix:/tmp/x.qmp,server=on,wait=off'];

describe('parseSize', () => {
  it('reads QEMU units, a bare number in the default unit', () => {
    expect(parseSize('64', 'm')).toBe(64 * 2 ** 20);
    expect(parseSize('64M', 'b')).toBe(64 * 2 ** 20);
    expect(parseSize('1G', 'b')).toBe(2 ** 30);
    expect(parseSize('4096', 'b')).toBe(4096);
    expect(parseSize('512k', 'b')).toBe(512 * 1024);
  });
  it('names what is wrong', () => {
    expect(() => parseSize('lots', 'm')).toThrow("invalid size 'lots'");
    expect(() => parseSize('1.5B', 'b')).toThrow('whole number');
  });
});

describe('parseDaemonArgs', () => {
  it('takes the command line of a QEMU migration harness', () => {
    const config = parseDaemonArgs([
      '-machine', 'none,memory-backend=mem0', '-m', '64M', '-nodefaults', '-display', 'none',
      '-object', 'memory-backend-file,id=mem0,size=64M,mem-path=/tmp/ram.img,share=on',
      ...qmp, '-incoming', 'defer', '-S', '-name', 'src',
    ]);
    expect(config).toMatchObject({
      machine: 'none', memoryBackendId: 'mem0', ramSize: 64 << 20, incoming: 'defer', startPaused: true, name: 'src',
      qmp: [{ kind: 'unix', path: '/tmp/x.qmp' }],
      backends: [{ id: 'mem0', kind: 'file', size: 64 << 20, memPath: '/tmp/ram.img', share: true }],
    });
  });

  it('reads -m as MiB by default and tcp QMP endpoints', () => {
    const config = parseDaemonArgs(['-m', '256', '-qmp', 'tcp:127.0.0.1:4444,server=on,wait=off']);
    expect(config.ramSize).toBe(256 << 20);
    expect(config.qmp).toEqual([{ kind: 'tcp', host: '127.0.0.1', port: 4444 }]);
    expect(config.memoryBackendId).toBeUndefined();
  });

  it('reads a unix QMP socket\'s mode (mig only): octal permissions or umask', () => {
    const of = (arg: string) => parseDaemonArgs(['-qmp', arg]).qmp;
    expect(of('unix:/tmp/q,server=on,wait=off,mode=0660')).toEqual([{ kind: 'unix', path: '/tmp/q', mode: 0o660 }]);
    expect(of('unix:/tmp/q,server=on,mode=umask')).toEqual([{ kind: 'unix', path: '/tmp/q', mode: 'umask' }]);
    expect(of('unix:/tmp/q,server=on,wait=off')).toEqual([{ kind: 'unix', path: '/tmp/q' }]);
  });

  it('takes the RAM size from the backend when -m is absent', () => {
    const config = parseDaemonArgs(['-machine', 'none,memory-backend=m', '-object', 'memory-backend-ram,id=m,size=8M']);
    expect(config.ramSize).toBe(8 << 20);
  });

  it.each([
    [['-foo'], '-foo: invalid option'],
    [['-m'], '-m: requires an argument'],
    [['-m', 'big'], "-m big: invalid size 'big'"],
    [['-machine', 'pc'], "machine type 'pc' is not supported"],
    [['-machine', 'none,memory-backend=x'], "Memory backend 'x' not found"],
    [['-machine', 'none,memory-backend=m', '-m', '16M', '-object', 'memory-backend-ram,id=m,size=8M'],
      'Machine memory size does not match the size of the memory backend'],
    [['-object', 'memory-backend-file,id=m,size=8M'], "Parameter 'mem-path' is missing"],
    [['-object', 'memory-backend-ram,id=m,size=1000'], 'multiple of the 4096-byte page'],
    [['-object', 'iothread,id=i'], "object type 'iothread' is not supported"],
    [['-qmp', 'unix:/tmp/q'], 'must be a server'],
    [['-qmp', 'pipe:x,server=on'], "unsupported QMP address 'pipe:x'"],
    [['-qmp', 'unix:/tmp/q,server=on,mode=rw'], "mode must be octal permissions such as 0600, or 'umask', not 'rw'"],
    [['-qmp', 'unix:/tmp/q,server=on,mode=01777'], "not '01777'"],
    [['-qmp', 'tcp:127.0.0.1:4444,server=on,mode=0600'], "'mode' applies to a unix socket only"],
    [['-display', 'gtk'], "mig accepts only 'none' here"],
    [['stray'], 'stray: invalid option'],
  ])('rejects %j naming the problem', (argv, message) => {
    expect(() => parseDaemonArgs(argv)).toThrow(UsageError);
    expect(() => parseDaemonArgs(argv)).toThrow(message);
  });

  it('-h, -help, --help and -version, --version: the action, parsing stops there as in QEMU', () => {
    for (const o of ['-h', '-help', '--help']) expect(parseDaemonArgs(['-m', '64M', o, '-bogus']).action).toBe('help');
    for (const o of ['-version', '--version']) expect(parseDaemonArgs([o]).action).toBe('version');
    expect(() => parseDaemonArgs(['-bogus', '-h'])).toThrow(UsageError);
  });

  it('-metrics tcp:HOST:PORT, refused in any other shape', () => {
    expect(parseDaemonArgs([...qmp, '-metrics', 'tcp:127.0.0.1:9100']).metrics).toEqual({ host: '127.0.0.1', port: 9100 });
    expect(parseDaemonArgs([...qmp, '-metrics', 'tcp::0']).metrics).toEqual({ host: '0.0.0.0', port: 0 });
    expect(parseDaemonArgs(qmp).metrics).toBeUndefined();
    expect(() => parseDaemonArgs(['-metrics', 'unix:/x'])).toThrow(/-metrics unix:\/x: expected tcp:HOST:PORT/);
    expect(() => parseDaemonArgs(['-metrics', 'tcp:h:70000'])).toThrow(/above 65535/);
  });
});
