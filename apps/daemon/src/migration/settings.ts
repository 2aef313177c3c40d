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

  queryParameters(): MigrationParameters {
    return queryParameters(this.parameters);
  }

  queryCapabilities(): ReturnType<typeof queryCapabilities> {
    return queryCapabilities(this.capabilities);
  }
}
