// Capabilities, parameters and QEMU's legacy setters (migrate_set_speed, migrate_set_downtime,
// migrate-set-cache-size): the rules live in @mig/core via MigrationSettings; a running migration hears of
// every change at once.
import type { MigrationStatus } from '@mig/core';
import type { QmpHandlers } from '@mig/qmp';
import type { MigrationSettings } from '../migration/settings.js';

export type SettingsHandlers = Pick<
  QmpHandlers,
  | 'migrate-set-capabilities'
  | 'query-migrate-capabilities'
  | 'migrate-set-parameters'
  | 'query-migrate-parameters'
  | 'migrate_set_speed'
  | 'migrate_set_downtime'
  | 'migrate-set-cache-size'
  | 'query-migrate-cache-size'
>;

export interface SettingsControl {
  readonly settings: Pick<
    MigrationSettings,
    'setCapabilities' | 'queryCapabilities' | 'setParameters' | 'queryParameters' | 'setSpeed' | 'setDowntime' | 'setCacheSize' | 'cacheSize'
  >;
  /** The outgoing migration: its state gates capability changes; it takes new parameters while it runs. */
  readonly outgoing: { readonly status: MigrationStatus; parametersChanged(): void };
}

export function settingsHandlers({ settings, outgoing }: SettingsControl): SettingsHandlers {
  /** Applies a change, then hands the new parameters to a running migration. */
  const change = (apply: () => void): void => {
    apply();
    outgoing.parametersChanged();
  };
  return {
    'migrate-set-capabilities': (args) => {
      settings.setCapabilities(args.capabilities, outgoing.status);
    },
    'query-migrate-capabilities': () => settings.queryCapabilities() as never,
    'migrate-set-parameters': (args) => change(() => settings.setParameters(args as Record<string, unknown>)),
    'query-migrate-parameters': () => settings.queryParameters() as never,
    migrate_set_speed: (args) => change(() => settings.setSpeed(args.value)),
    migrate_set_downtime: (args) => change(() => settings.setDowntime(args.value)),
    'migrate-set-cache-size': (args) => change(() => settings.setCacheSize(args.value)),
    'query-migrate-cache-size': () => settings.cacheSize,
  };
}
