// The migration parameters and capabilities of one daemon, as QMP sees them. The rules live in @mig/core;
// this only keeps the current values and turns core's errors into QMP errors.
import {
  applyCapabilities,
  applyParameters,
  defaultCapabilities,
  defaultParameters,
  legacySetCacheSize,
  legacySetDowntime,
  legacySetSpeed,
  queryCapabilities,
  queryParameters,
  type MigrationCapabilities,
  type MigrationCapability,
  type MigrationParameters,
  type MigrationStatus,
} from '@mig/core';
import { QmpError } from '@mig/qmp';

function asQmpError(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof QmpError) throw err;
    throw new QmpError('GenericError', (err as Error).message);
  }
}

export class MigrationSettings {
  parameters: MigrationParameters = defaultParameters();
  capabilities: MigrationCapabilities = defaultCapabilities();
  /** `migrate blk/inc` turned block migration on for one migration (QEMU's must_remove_block_options). */
  #blockForOneMigration = false;

  constructor(private readonly guestRamBytes: number) {}

  capability(name: MigrationCapability): boolean {
    return this.capabilities[name] === true;
  }

  get cacheSize(): number {
    return this.parameters['xbzrle-cache-size'];
  }

  setParameters(patch: Record<string, unknown>): void {
    asQmpError(() => {
      this.parameters = applyParameters(this.parameters, patch);
    });
  }

  setCapabilities(list: unknown, status: MigrationStatus): void {
    asQmpError(() => {
      this.capabilities = applyCapabilities(this.capabilities, list, { status });
    });
  }

  setSpeed(value: number): void {
    asQmpError(() => {
      this.parameters = legacySetSpeed(this.parameters, value);
    });
  }

  setDowntime(seconds: number): void {
    asQmpError(() => {
      this.parameters = legacySetDowntime(this.parameters, seconds);
    });
  }

  setCacheSize(bytes: number): void {
    asQmpError(() => {
      this.parameters = legacySetCacheSize(this.parameters, bytes, { guestRamBytes: this.guestRamBytes });
    });
  }

  /**
   * `migrate` with `blk` / `inc` (QEMU 7.2's migrate_prepare): capability `block`, and with `inc` parameter
   * `block-incremental`, for this migration only; refused when either is set already.
   */
  enableBlockForMigration(incremental: boolean): void {
    if (this.capability('block') || this.parameters['block-incremental']) {
      throw new QmpError('GenericError', 'Command options are incompatible with current migration capabilities');
    }
    this.capabilities = { ...this.capabilities, block: true };
    if (incremental) this.parameters = { ...this.parameters, 'block-incremental': true };
    this.#blockForOneMigration = true;
  }

  /** The migration ended (block_cleanup_parameters): what blk/inc turned on goes off; what the user set stays. */
  migrationEnded(): void {
    if (!this.#blockForOneMigration) return;
    this.#blockForOneMigration = false;
    this.capabilities = { ...this.capabilities, block: false };
    this.parameters = { ...this.parameters, 'block-incremental': false };
  }

  queryParameters(): MigrationParameters {
    return queryParameters(this.parameters);
  }

  queryCapabilities(): ReturnType<typeof queryCapabilities> {
    return queryCapabilities(this.capabilities);
  }
}
