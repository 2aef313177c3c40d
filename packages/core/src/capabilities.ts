import { CapabilityError, MigrationActiveError, ParameterError } from './errors.js';
import { isMigrationRunning, type MigrationStatus } from './status.js';

/** QEMU 7.2's MigrationCapability enum, in QEMU's order (query-migrate-capabilities lists them so). */
export const MIGRATION_CAPABILITIES = [
  'xbzrle', 'rdma-pin-all', 'auto-converge', 'zero-blocks', 'compress', 'events', 'postcopy-ram', 'x-colo',
  'release-ram', 'block', 'return-path', 'pause-before-switchover', 'multifd', 'dirty-bitmaps',
  'postcopy-blocktime', 'late-block-activate', 'x-ignore-shared', 'validate-uuid', 'background-snapshot',
  'zero-copy-send', 'postcopy-preempt',
] as const;
export type MigrationCapability = (typeof MIGRATION_CAPABILITIES)[number];

/** The capabilities mig implements; the others may be set to false but not enabled. */
export const SUPPORTED_CAPABILITIES: readonly MigrationCapability[] = [
  'xbzrle', 'auto-converge', 'zero-blocks', 'events', 'rdma-pin-all', 'block',
];

export type MigrationCapabilities = Record<MigrationCapability, boolean>;

export interface MigrationCapabilityStatus {
  capability: MigrationCapability;
  state: boolean;
}

export function isMigrationCapability(value: unknown): value is MigrationCapability {
  return typeof value === 'string' && (MIGRATION_CAPABILITIES as readonly string[]).includes(value);
}

export function isCapabilitySupported(cap: MigrationCapability): boolean {
  return SUPPORTED_CAPABILITIES.includes(cap);
}

/** Every capability off, as QEMU starts. */
export function defaultCapabilities(): MigrationCapabilities {
  const caps = {} as MigrationCapabilities;
  for (const c of MIGRATION_CAPABILITIES) caps[c] = false;
  return caps;
}

/**
 * Checks the `capabilities` member of `migrate-set-capabilities` with QEMU 7.2's messages (it must be an
 * array of {capability, state}).
 */
export function parseCapabilityList(list: unknown): MigrationCapabilityStatus[] {
  if (list === undefined) throw new ParameterError('capabilities', "Parameter 'capabilities' is missing");
  if (!Array.isArray(list)) {
    throw new ParameterError('capabilities', "Invalid parameter type for 'capabilities', expected: array");
  }
  return list.map((item: unknown, i) => {
    const p = `capabilities[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new ParameterError(p, `Invalid parameter type for '${p}', expected: object`);
    }
    const o = item as Record<string, unknown>;
    if (!('capability' in o)) throw new ParameterError(`${p}.capability`, `Parameter '${p}.capability' is missing`);
    if (typeof o.capability !== 'string') {
      throw new ParameterError(`${p}.capability`, `Invalid parameter type for '${p}.capability', expected: string`);
    }
    // QEMU 7.2 names the enum member without its path here.
    if (!isMigrationCapability(o.capability)) {
      throw new ParameterError('capability', `Parameter 'capability' does not accept value '${o.capability}'`);
    }
    if (!('state' in o)) throw new ParameterError(`${p}.state`, `Parameter '${p}.state' is missing`);
    if (typeof o.state !== 'boolean') {
      throw new ParameterError(`${p}.state`, `Invalid parameter type for '${p}.state', expected: boolean`);
    }
    for (const k of Object.keys(o)) {
      if (k !== 'capability' && k !== 'state') throw new ParameterError(`${p}.${k}`, `Parameter '${p}.${k}' is unexpected`);
    }
    return { capability: o.capability, state: o.state };
  });
}

export interface ApplyCapabilitiesOptions {
  /** The outgoing migration's status: while it runs (setup, active, cancelling) nothing may change. */
  status: MigrationStatus;
}

/**
 * `migrate-set-capabilities`: returns a new capability set with `list` applied (later entries win), or
 * throws: MigrationActiveError while a migration runs, ParameterError for a malformed list, CapabilityError
 * for enabling one that mig does not implement. All-or-nothing: `current` is never changed.
 */
export function applyCapabilities(
  current: MigrationCapabilities,
  list: unknown,
  options: ApplyCapabilitiesOptions,
): MigrationCapabilities {
  if (isMigrationRunning(options.status)) throw new MigrationActiveError();
  const entries = parseCapabilityList(list);
  const next: MigrationCapabilities = { ...current };
  for (const { capability, state } of entries) next[capability] = state;
  for (const { capability } of entries) {
    if (next[capability] && !isCapabilitySupported(capability)) {
      throw new CapabilityError(capability, `Capability '${capability}' is not supported by mig`);
    }
  }
  return next;
}

/** The `query-migrate-capabilities` reply: every capability in QEMU's order. */
export function queryCapabilities(caps: MigrationCapabilities): MigrationCapabilityStatus[] {
  return MIGRATION_CAPABILITIES.map((capability) => ({ capability, state: caps[capability] === true }));
}
