// mig-daemon and mig as a consumer gets them (node_modules/.bin of the scratch project): a target waiting
// with `-incoming defer`, a source whose 64 MiB of RAM is a file of random bytes, `mig migrate --from --to
// --incoming-qmp` between them, then the target's RAM file must hash like the source's and its guest must run.
import { execFile, spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const RAM = 64 * 1024 * 1024;

function daemonArgs(dir, name, extra) {
  return ['-name', name, '-machine', 'none,memory-backend=mem0', '-m', '64M', '-nodefaults', '-display', 'none',
    '-object', `memory-backend-file,id=mem0,size=64M,mem-path=${join(dir, `${name}.ram`)},share=on`,
    '-qmp', `unix:${join(dir, `${name}.qmp`)},server=on,wait=off`, ...extra];
}

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

const DEPLOY_FILES = ['mig-target@.service', 'mig-source@.service', 'mig.env', 'mig.sysusers.conf'];

export async function migrateWithInstalledDaemon(project) {
  const bin = join(project, 'node_modules', '.bin');
  const deploy = join(project, 'node_modules', '@mig', 'daemon', 'deploy');
  const missing = DEPLOY_FILES.filter((f) => !existsSync(join(deploy, f)));
  if (missing.length) throw new Error(`@mig/daemon's tarball lacks deploy/${missing.join(', deploy/')} (the README's deployment section uses them)`);
  const { QmpClient } = await import(pathToFileURL(join(project, 'node_modules', '@mig', 'qmp', 'dist', 'index.js')).href);
  const ram = Buffer.alloc(RAM);
  randomFillSync(ram);
  writeFileSync(join(project, 'src.ram'), ram);
  const children = [];
  const start = (name, extra) => {
    const child = spawn(join(bin, 'mig-daemon'), daemonArgs(project, name, extra), { stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(child);
    return QmpClient.connect(`unix:${join(project, `${name}.qmp`)}`, { waitForSocket: true, timeoutMs: 60_000 });
  };
  try {
    const [dst, src] = await Promise.all([start('dst', ['-incoming', 'defer']), start('src', [])]);
    const args = ['migrate', '--from', `unix:${join(project, 'src.qmp')}`, '--incoming-qmp', `unix:${join(project, 'dst.qmp')}`,
      '--to', `unix:${join(project, 'mig.sock')}`, '--bandwidth', '1G', '--progress', 'none'];
    const { stdout } = await promisify(execFile)(join(bin, 'mig'), args, { timeout: 300_000 });
    if (!/result: completed on both ends/.test(stdout)) throw new Error(`mig migrate did not report completion:\n${stdout}`);
    console.log(stdout.trim());
    const status = (await dst.queryStatus()).status;
    const [a, b] = [sha256(join(project, 'src.ram')), sha256(join(project, 'dst.ram'))];
    if (a !== b) throw new Error(`target RAM sha256 ${b} differs from the source's ${a}`);
    if (status !== 'running') throw new Error(`target guest is '${status}' after the migration, not running`);
    console.log(`ok: 64 MiB migrated, RAM sha256 equal (${a.slice(0, 16)}…), target guest ${status}`);
    for (const c of [src, dst]) await c.quit();
    await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : undefined)));
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  }
}
