import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll } from './cleanup.js';
import { tmpDir } from './files.js';
import { slowReaderCommand } from './slow-reader.js';
import { closeDescriptor, socketPair } from './descriptors.js';
import net from 'node:net';

afterAll(cleanupAll);

/** Runs `sh -c command` with `input` on stdin (or none); resolves with its stdout and how long it took. */
function run(command: string, input: Buffer | undefined, stdin: 'pipe' | number = 'pipe'): Promise<{ out: Buffer; ms: number; code: number | null }> {
  const started = Date.now();
  const child = spawn('/bin/sh', ['-c', command], { stdio: [stdin, 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => chunks.push(c));
  if (input !== undefined) child.stdin?.end(input);
  return new Promise((resolve) => child.once('close', (code) => resolve({ out: Buffer.concat(chunks), ms: Date.now() - started, code })));
}

describe('slow-reader', () => {
  it('copies stdin to stdout, no faster than --rate', async () => {
    const input = randomBytes(3 << 20);
    const { out, ms, code } = await run(slowReaderCommand({ from: 'stdin', rate: 6 << 20 }), input);
    expect(code).toBe(0);
    expect(out.equals(input)).toBe(true);
    // 3 MiB at 6 MiB/s: at least half a second (a lower bound, whatever the machine)
    expect(ms).toBeGreaterThanOrEqual(450);
  });

  it('reads the one connection of a unix listener, says when it listens, and reads an inherited descriptor', async () => {
    const dir = await tmpDir('mig-slow-reader-');
    const path = join(dir, 'in.sock');
    const ready = join(dir, 'ready');
    const running = run(slowReaderCommand({ from: `listen:unix:${path}`, rate: 64 << 20, ready }), undefined);
    while (!existsSync(ready)) await new Promise((r) => setTimeout(r, 10));
    const input = randomBytes(1 << 20);
    await new Promise<void>((resolve) => {
      const s = net.connect(path, () => s.end(input, resolve));
    });
    expect((await running).out.equals(input)).toBe(true);

    const [a, b] = socketPair();
    const fromFd = run(slowReaderCommand({ from: 'fd:0', rate: 64 << 20 }), undefined, b);
    closeDescriptor(b);
    const writer = new net.Socket({ fd: a, readable: false, writable: true });
    writer.end(input);
    expect((await fromFd).out.equals(input)).toBe(true);
  });
});
