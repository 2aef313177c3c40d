/** Every QMP command mig knows, by wire name, with the types derived from their schemas. */
import type { z } from 'zod';
import type { CommandDefinition } from './define.js';
import { closefd } from './closefd.js';
import { cont } from './cont.js';
import { getfd } from './getfd.js';
import { humanMonitorCommand } from './human-monitor-command.js';
import { migrate } from './migrate.js';
import { migrateIncoming } from './migrate-incoming.js';
import { migrateSetCacheSize } from './migrate-set-cache-size.js';
import { migrateSetCapabilities } from './migrate-set-capabilities.js';
import { migrateSetParameters } from './migrate-set-parameters.js';
import { migrateCancel } from './migrate_cancel.js';
import { migrateSetDowntime } from './migrate_set_downtime.js';
import { migrateSetSpeed } from './migrate_set_speed.js';
import { objectAdd } from './object-add.js';
import { objectDel } from './object-del.js';
import { pmemsave } from './pmemsave.js';
import { qmpCapabilities } from './qmp_capabilities.js';
import { queryBlock } from './query-block.js';
import { queryCommands } from './query-commands.js';
import { queryMigrate } from './query-migrate.js';
import { queryMigrateCacheSize } from './query-migrate-cache-size.js';
import { queryMigrateCapabilities } from './query-migrate-capabilities.js';
import { queryMigrateParameters } from './query-migrate-parameters.js';
import { queryStatus } from './query-status.js';
import { queryVersion } from './query-version.js';
import { quit } from './quit.js';
import { stop } from './stop.js';
import { xMigDiskWorkload, xMigQueryDiskWorkload } from './x-mig-disk-workload.js';
import { xMigQueryProgress } from './x-mig-query-progress.js';
import { xMigQueryWorkload, xMigWorkload } from './x-mig-workload.js';
import { xMigWrite } from './x-mig-write.js';

export const commands = {
  qmp_capabilities: qmpCapabilities,
  'query-version': queryVersion,
  'query-commands': queryCommands,
  'query-status': queryStatus,
  stop,
  cont,
  quit,
  migrate,
  'migrate-incoming': migrateIncoming,
  migrate_cancel: migrateCancel,
  'query-migrate': queryMigrate,
  'migrate-set-capabilities': migrateSetCapabilities,
  'query-migrate-capabilities': queryMigrateCapabilities,
  'migrate-set-parameters': migrateSetParameters,
  'query-migrate-parameters': queryMigrateParameters,
  migrate_set_speed: migrateSetSpeed,
  migrate_set_downtime: migrateSetDowntime,
  'migrate-set-cache-size': migrateSetCacheSize,
  'query-migrate-cache-size': queryMigrateCacheSize,
  pmemsave,
  'human-monitor-command': humanMonitorCommand,
  'query-block': queryBlock,
  'x-mig-workload': xMigWorkload,
  'x-mig-query-workload': xMigQueryWorkload,
  'x-mig-write': xMigWrite,
  'x-mig-query-progress': xMigQueryProgress,
  'x-mig-disk-workload': xMigDiskWorkload,
  'x-mig-query-disk-workload': xMigQueryDiskWorkload,
  getfd,
  closefd,
  'object-add': objectAdd,
  'object-del': objectDel,
} as const satisfies { [K in string]: CommandDefinition<K> };

export type Commands = typeof commands;
/** Wire names of all commands. */
export type CommandName = keyof Commands;
/** Commands the daemon answers (all but negotiation and query-commands). */
export type HandledCommandName = {
  [K in CommandName]: Commands[K] extends { builtin: true } ? never : K;
}[CommandName];
/** Arguments after validation (what a handler receives). */
export type CommandArgs<K extends CommandName> = z.output<Commands[K]['args']>;
/** Arguments as a caller writes them. */
export type CommandArgsInput<K extends CommandName> = z.input<Commands[K]['args']>;
/** The `return` value of a command. */
export type CommandReturn<K extends CommandName> = z.output<Commands[K]['returns']>;

/** Commands whose arguments are all optional (the `args` parameter may be left out). */
export type CommandsWithOptionalArgs = {
  [K in CommandName]: object extends CommandArgsInput<K> ? K : never;
}[CommandName];

export const commandNames = Object.keys(commands) as CommandName[];

export function isCommandName(name: string): name is CommandName {
  return Object.prototype.hasOwnProperty.call(commands, name);
}

export function getCommand(name: string): CommandDefinition | undefined {
  return isCommandName(name) ? commands[name] : undefined;
}
