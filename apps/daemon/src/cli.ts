// `mig`: the command line for people and scripts. It talks QMP to mig-daemon or QEMU 7.2 and says what happens;
// the commands are in people/ (the table in people/commands.ts).
import { processIo } from './people/io.js';
import { runMig } from './people/program.js';

export async function main(argv: readonly string[]): Promise<void> {
  process.exitCode = await runMig(argv, processIo());
}
