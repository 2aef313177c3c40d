// The table of mig's subcommands, in the order --help lists them. A new command goes here: a Subcommand
// (commander parses it) or an ExternalTool (it parses its own arguments; see tools.ts).
import { migrateCommand } from './migrate-command.js';
import { cancelCommand, statusCommand, watchCommand } from './status-command.js';
import type { ExternalTool, Subcommand } from './subcommand.js';
import { EXTERNAL_TOOLS } from './tools.js';

export const SUBCOMMANDS: readonly Subcommand[] = [migrateCommand, statusCommand, watchCommand, cancelCommand];

export const TOOLS: readonly ExternalTool[] = EXTERNAL_TOOLS;
