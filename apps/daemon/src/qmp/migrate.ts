// migrate, migrate-incoming, migrate_cancel, query-migrate and x-mig-query-progress: the checks QEMU 7.2
// makes before a migration starts (with its error texts), then the migration controllers.
import type { MigrationStatus, ProgressReport } from '@mig/core';
import { QmpError, type MigrationProgress, type QmpCommandContext, type QmpHandlers } from '@mig/qmp';
import type { TransportContext } from '@mig/transports';

export type MigrateHandlers = Pick<
  QmpHandlers,
  'migrate' | 'migrate-incoming' | 'migrate_cancel' | 'query-migrate' | 'x-mig-query-progress'
>;

/** What these commands need: both migrations, the guest's run state, the blockers and `-incoming`. */
export interface MigrateControl {
  readonly outgoing: {
    readonly status: MigrationStatus;
    start(uri: string, descriptors?: TransportContext): void;
    cancel(): void;
    queryMigrate(blockedReasons: readonly string[]): Record<string, unknown>;
    queryProgress(): (ProgressReport & { status: MigrationStatus }) | undefined;
  };
  readonly incoming: {
    readonly status: MigrationStatus;
    start(uri: string, descriptors?: TransportContext): Promise<void>;
    queryMigrate(): Record<string, unknown>;
  };
  readonly vm: { readonly runstate: string };
  /** Throws an error naming the reasons when a migration is blocked. */
  readonly blockers: { check(): void; list(): string[] };
  /** `-incoming` on the command line: a URI, 'defer', or undefined when not given. */
  readonly incomingArg: string | undefined;
  /** blk/inc turn block migration on for one migration, as QEMU's migrate_prepare does. */
  readonly settings: { enableBlockForMigration(incremental: boolean): void; migrationEnded(): void };
  /** What `fd:NAME` refers to for a request (the monitor's getfd names; see qmp/fds.ts). None: no fd:. */
  readonly descriptors?: {
    outgoing(ctx: QmpCommandContext): TransportContext;
    incoming(ctx: QmpCommandContext): TransportContext;
  };
}

/** x-mig-query-progress before the first dirty sync of a migration (or when none ran). */
function idleProgress(status: MigrationStatus): MigrationProgress {
  return {
    status, percent: 0, 'eta-ms': null, remaining: 0, total: 0, processed: 0, 'processing-rate': 0, 'remaining-min': 0, threshold: 0,
    'dirty-rate': 0, bandwidth: 0, 'stalled-syncs': 0, converging: true, pass: 0, throttle: 0, advice: [],
  };
}

/** query-migrate: the target's view while it has an incoming migration, else the source's. */
export function queryMigrate(ctl: MigrateControl): Record<string, unknown> {
  return ctl.incoming.status !== 'none' ? ctl.incoming.queryMigrate() : ctl.outgoing.queryMigrate(ctl.blockers.list());
}

export function migrateHandlers(ctl: MigrateControl): MigrateHandlers {
  return {
    migrate: (args, ctx) => {
      if (args.resume) throw new QmpError('GenericError', 'Postcopy resume is not supported by mig');
      if (ctl.incoming.status !== 'none' && ctl.vm.runstate === 'inmigrate') {
        throw new QmpError('GenericError', 'Guest is waiting for an incoming migration');
      }
      try {
        ctl.blockers.check();
      } catch (err) {
        throw new QmpError('GenericError', (err as Error).message);
      }
      if (ctl.outgoing.status === 'setup' || ctl.outgoing.status === 'active' || ctl.outgoing.status === 'cancelling') {
        throw new QmpError('GenericError', "There's a migration process in progress");
      }
      if (args.blk || args.inc) ctl.settings.enableBlockForMigration(args.inc === true);
      try {
        ctl.outgoing.start(args.uri, ctl.descriptors?.outgoing(ctx));
      } catch (err) {
        ctl.settings.migrationEnded();
        throw err;
      }
    },
    'migrate-incoming': async (args, ctx) => {
      if (ctl.incomingArg !== 'defer') {
        throw new QmpError('GenericError', "'-incoming' was not specified on the command line");
      }
      try {
        await ctl.incoming.start(args.uri, ctl.descriptors?.incoming(ctx));
      } catch (err) {
        if (err instanceof QmpError) throw err;
        throw new QmpError('GenericError', (err as Error).message);
      }
    },
    migrate_cancel: () => {
      ctl.outgoing.cancel();
    },
    'query-migrate': () => queryMigrate(ctl) as never,
    'x-mig-query-progress': () => ctl.outgoing.queryProgress() ?? idleProgress(ctl.outgoing.status),
  };
}
