// mig-daemon's entry point: QEMU's command-line shape in, a running source or target out.
import { parseDaemonArgs } from './cli/args.js';
import { Daemon } from './daemon.js';
import { createLogger } from './log.js';

export async function main(argv: readonly string[]): Promise<void> {
  const log = createLogger('mig-daemon');
  let daemon: Daemon;
  try {
    const config = parseDaemonArgs(argv);
    daemon = new Daemon(config, log, (code) => process.exit(code));
    await daemon.start();
  } catch (err) {
    process.stderr.write(`mig-daemon: ${(err as Error).message}\n`);
    process.exit(1);
    return;
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void daemon.shutdown('host-signal'));
  }
}
