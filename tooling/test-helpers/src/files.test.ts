import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanupAll } from './cleanup.js';
import { freePort, sha256File, tmpDir } from './files.js';
import { migDaemonPath, repoRoot } from './paths.js';

describe('files', () => {
  it('sha256File matches a hash computed in memory', async () => {
    const dir = await tmpDir();
    const data = Buffer.from('abc'.repeat(1_000_000));
    await writeFile(join(dir, 'f'), data);
    expect(await sha256File(join(dir, 'f'))).toBe(createHash('sha256').update(data).digest('hex'));
    await cleanupAll();
  });

  it('tmpDir is removed by cleanupAll', async () => {
    const dir = await tmpDir();
    expect(existsSync(dir)).toBe(true);
    await cleanupAll();
    expect(existsSync(dir)).toBe(false);
  });

  it('freePort returns a port one can listen on', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const srv = createServer();
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise((r) => srv.close(r));
  });

  it('finds the repo root and the daemon from the module, not the cwd', () => {
    expect(existsSync(join(repoRoot(), 'pnpm-workspace.yaml'))).toBe(true);
    expect(migDaemonPath()).toBe(join(repoRoot(), 'apps', 'daemon', 'bin', 'mig-daemon'));
  });
});
