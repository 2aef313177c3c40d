// `pnpm demo`: a live migration between two mig-daemons on this machine, narrated. It needs only Node.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QmpClient } from '@mig/qmp';
import { describeMigration, formatBytes, formatDuration, type MigrationInfoLike } from './people/format.js';

const RAM_MIB = 256;
const BANDWIDTH = 256 * 1024 * 1024;
const daemonBin = fileURLToPath(new URL('../bin/mig-daemon', import.meta.url));

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Guest RAM content: random pages with every third page left zero, as a guest's RAM tends to have both. */
function fillRam(file: string, bytes: number): void {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(1 << 20);
  for (let offset = 0; offset < bytes; offset += chunk.length) {
    randomFillSync(chunk);
    for (let page = 0; page < chunk.length; page += 4096) {
      if (((offset + page) / 4096) % 3 === 0) chunk.fill(0, page, page + 4096);
    }
    fs.writeSync(fd, chunk);
  }
  fs.closeSync(fd);
}

function startDaemon(name: string, args: string[], dir: string): ChildProcess {
  const child = spawn(process.execPath, [daemonBin, '-name', name, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const log = fs.createWriteStream(path.join(dir, `${name}.log`));
  child.stderr!.pipe(log);
  return child;
}

async function ramHash(client: QmpClient, dir: string, label: string): Promise<string> {
  const file = path.join(dir, `${label}.pmem`);
  await client.execute('pmemsave', { val: 0, size: RAM_MIB * 1024 * 1024, filename: file });
  const hash = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  fs.rmSync(file);
  return hash;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mig-demo-'));
  const ramFile = path.join(dir, 'source-ram.img');
  const children: ChildProcess[] = [];
  const cleanup = (): void => {
    for (const child of children) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    say(`mig demo: migrating a running guest's ${RAM_MIB} MiB of RAM between two mig-daemons (work folder ${dir})`);
    say('1. filling the source guest RAM (random pages, every third page zero)');
    fillRam(ramFile, RAM_MIB * 1024 * 1024);
    const common = ['-machine', 'none,memory-backend=mem0', '-m', `${RAM_MIB}M`, '-nodefaults', '-display', 'none'];
    say('2. starting the target: it waits for a stream on a unix socket (-incoming unix:...)');
    const migSocket = path.join(dir, 'migration.sock');
    children.push(startDaemon('target', [...common, '-object', `memory-backend-ram,id=mem0,size=${RAM_MIB}M`,
      '-qmp', `unix:${path.join(dir, 'target.qmp')},server=on,wait=off`, '-incoming', `unix:${migSocket}`], dir));
    say('3. starting the source with the RAM file as its memory, guest running and writing 20 MB/s into 64 MiB of it');
    children.push(startDaemon('source', [...common, '-object',
      `memory-backend-file,id=mem0,size=${RAM_MIB}M,mem-path=${ramFile},share=on`,
      '-workload', 'dirty-rate=20M/s,wss=64M,pattern=sparse',
      '-qmp', `unix:${path.join(dir, 'source.qmp')},server=on,wait=off`], dir));
    const target = await QmpClient.connect(`unix:${path.join(dir, 'target.qmp')}`, { waitForSocket: true });
    const source = await QmpClient.connect(`unix:${path.join(dir, 'source.qmp')}`, { waitForSocket: true });
    say(`4. migrate at up to ${formatBytes(BANDWIDTH)}/s: {"execute":"migrate","arguments":{"uri":"unix:${migSocket}"}}`);
    await source.execute('migrate-set-parameters', { 'max-bandwidth': BANDWIDTH });
    await source.execute('migrate', { uri: `unix:${migSocket}` });
    let info: MigrationInfoLike;
    for (;;) {
      info = (await source.execute('query-migrate')) as MigrationInfoLike;
      say(`   ${describeMigration(info)}`);
      if (['completed', 'failed', 'cancelled'].includes(info.status ?? '')) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const targetInfo = (await target.execute('query-migrate')) as MigrationInfoLike;
    const sourceStatus = (await source.execute('query-status')) as { status: string };
    const targetStatus = (await target.execute('query-status')) as { status: string };
    say(`5. source: migration ${info.status}, guest ${sourceStatus.status}; target: migration ${targetInfo.status ?? 'none'}, guest ${targetStatus.status}`);
    if (info.status !== 'completed') throw new Error(`the migration ended ${info.status}: ${info['error-desc'] ?? ''}`);
    // The source guest stopped at switchover, so its RAM is what the target must hold.
    const sourceHash = await ramHash(source, dir, 'source-after');
    const targetHash = await ramHash(target, dir, 'target-after');
    say(`6. RAM sha256: source ${sourceHash.slice(0, 16)}…, target ${targetHash.slice(0, 16)}… ${targetHash === sourceHash ? 'equal' : 'DIFFER'}`);
    say(`   ${formatBytes(info.ram?.transferred ?? 0)} sent in ${formatDuration(info['total-time'] ?? 0)} over ${info.ram?.['dirty-sync-count'] ?? 0} passes, downtime ${formatDuration(info.downtime ?? 0)}`);
    await source.close();
    await target.close();
    if (targetHash !== sourceHash) throw new Error('RAM differs after migration');
    say('done: the guest now runs on the target with the same RAM.');
  } finally {
    cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`mig demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
