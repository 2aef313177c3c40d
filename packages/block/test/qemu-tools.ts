// qemu-img / qemu-io for the block tests: skipped locally without them, a failure in CI (as requireQemu).
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const QEMU_UTILS = ['qemu-img', 'qemu-io'] as const;
export const QEMU_UTILS_SKIP_MESSAGE = 'qemu-img/qemu-io not installed: apt-get install qemu-utils';

export function findTool(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

export class QemuUtilsMissingError extends Error {
  constructor() {
    super(`${QEMU_UTILS_SKIP_MESSAGE} (CI is set: these tests never skip in CI)`);
    this.name = 'QemuUtilsMissingError';
  }
}

/** Use as `describe.skipIf(!requireQemuUtils())`; throws in CI when a tool is missing. */
export function requireQemuUtils(env: NodeJS.ProcessEnv = process.env): boolean {
  const found = QEMU_UTILS.every((t) => findTool(t, env) !== undefined);
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI.toLowerCase() !== 'false';
  if (!found && ci) throw new QemuUtilsMissingError();
  if (!found) console.warn(`skipping: ${QEMU_UTILS_SKIP_MESSAGE}`);
  return found;
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool and returns its exit code and output (never throws for a non-zero exit). */
export function runTool(tool: string, args: string[]): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') reject(err);
      else resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
    });
  });
}

/** Runs a tool; a non-zero exit throws with its stderr. */
export async function tool(name: string, ...args: string[]): Promise<string> {
  const r = await runTool(name, args);
  if (r.code !== 0) throw new Error(`${name} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

export const qemuImg = (...args: string[]): Promise<string> => tool('qemu-img', ...args);

/** qemu-io with each command as its own -c; output is its progress lines. */
export const qemuIo = (image: string, format: string, commands: string[]): Promise<string> =>
  tool('qemu-io', '-f', format, ...commands.flatMap((c) => ['-c', c]), image);

export interface CheckReport {
  code: number;
  'check-errors'?: number;
  corruptions?: number;
  leaks?: number;
  'allocated-clusters'?: number;
  'image-end-offset'?: number;
}

/** qemu-img check --output=json; exit codes 2 (corrupt) and 3 (leaks) are reported, not thrown. */
export async function qemuImgCheck(image: string): Promise<CheckReport> {
  const r = await runTool('qemu-img', ['check', '--output=json', image]);
  if (r.code !== 0 && r.code !== 2 && r.code !== 3) throw new Error(`qemu-img check exited ${r.code}: ${r.stderr}`);
  return { code: r.code, ...(JSON.parse(r.stdout) as Omit<CheckReport, 'code'>) };
}

export interface MapExtent {
  start: number;
  length: number;
  depth: number;
  present: boolean;
  zero: boolean;
  data: boolean;
  offset?: number;
}

export async function qemuImgMap(image: string): Promise<MapExtent[]> {
  return JSON.parse(await qemuImg('map', '--output=json', image)) as MapExtent[];
}
