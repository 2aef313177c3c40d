import { MigrationBlockedError } from './errors.js';

/** A registered blocker; pass it to Blockers.remove(). */
export interface BlockerHandle {
  readonly reason: string;
}

/**
 * Reasons a migration may not start now (QEMU's migrate_add_blocker / migrate_del_blocker). The same
 * reason text may be registered twice (each add gets its own handle).
 */
export class Blockers {
  private readonly entries: BlockerHandle[] = [];

  /** Registers `reason` (the text query-migrate lists in blocked-reasons and a refused migrate reports). */
  add(reason: string): BlockerHandle {
    if (typeof reason !== 'string' || reason.length === 0) {
      throw new TypeError(`a migration blocker needs a non-empty reason, got ${JSON.stringify(reason)}`);
    }
    const handle: BlockerHandle = Object.freeze({ reason });
    this.entries.push(handle);
    return handle;
  }

  /** Removes a blocker; returns whether it was registered. */
  remove(handle: BlockerHandle): boolean {
    const i = this.entries.indexOf(handle);
    if (i < 0) return false;
    this.entries.splice(i, 1);
    return true;
  }

  /** The reasons, oldest first (the order of QEMU's blocked-reasons). */
  list(): string[] {
    return this.entries.map((e) => e.reason);
  }

  get size(): number {
    return this.entries.length;
  }

  /** Throws MigrationBlockedError naming every reason, if there is any. */
  check(): void {
    if (this.entries.length > 0) throw new MigrationBlockedError(this.list());
  }
}
