// The daemon's drives: opened at start, closed (flushed) at quit. They decide, from the guest's run state,
// whether guest writes are allowed (QEMU inactivates the images while a target waits for or loads a stream,
// and on a source once the migration has switched over) and count the guest writes in flight, so a
// migration that stopped the guest can wait for the last of them (drain, QEMU's bdrv_drain_all).
import type { DriveConfig } from '../cli/drive-option.js';
import { Drive, type GuestWriteGate } from './drive.js';
import { DriveError } from './drive-error.js';
import { NodeNames } from './node-names.js';
import { openDriveImage } from './open-drive.js';
import type { WorkerDriveInfo } from './drive-protocol.js';

/** Why a guest write is refused in each run state where the images are inactive. */
const INACTIVE: Readonly<Record<string, string>> = {
  inmigrate: 'the guest is waiting for an incoming migration, which owns the image until it ends',
  'finish-migrate': 'the migration is switching over',
  postmigrate: "the migration has completed and the target owns the image now ('cont' takes it back)",
};

export class Drives implements GuestWriteGate, Iterable<Drive> {
  #drives: Drive[] = [];
  readonly #names = new NodeNames();
  #guestWrites = 0;
  #drained: Array<() => void> = [];

  /** `runstate` is read at each guest write (the guest's run state: QEMU's RunState names). */
  constructor(private readonly runstate: () => string) {}

  /** Opens every drive, in order; on a failure closes those already open and throws (DriveOpenError). */
  async open(configs: readonly DriveConfig[], warn: (message: string) => void = () => {}): Promise<void> {
    try {
      for (const config of configs) {
        const image = await openDriveImage(config, warn);
        let depth = 0;
        for (let b = image.backing; b !== undefined; b = b.backing) depth++;
        this.#drives.push(new Drive(config.id, this.#names.next(config.id, depth), config.file, image, this));
      }
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  get list(): readonly Drive[] {
    return this.#drives;
  }

  [Symbol.iterator](): Iterator<Drive> {
    return this.#drives[Symbol.iterator]();
  }

  /** The drive with this id. */
  get(id: string): Drive | undefined {
    return this.#drives.find((d) => d.id === id);
  }

  /** The drive with this id, else the one whose node has this name (as qemu-io looks a drive up). */
  find(idOrNodeName: string): Drive | undefined {
    return this.get(idOrNodeName) ?? this.#drives.find((d) => d.nodeName === idOrNodeName);
  }

  /** Why guest writes are refused now, or undefined when they are allowed. */
  get guestWritesRefused(): string | undefined {
    const state = this.runstate();
    const why = INACTIVE[state];
    return why === undefined ? undefined : `${why} (runstate ${state})`;
  }

  /** Guest writes started and not yet done. */
  get guestWritesInFlight(): number {
    return this.#guestWrites;
  }

  enter(drive: Drive): void {
    const why = this.guestWritesRefused;
    if (why !== undefined) throw new DriveError(drive.id, 'inactive', `drive '${drive.id}' is inactive: ${why}`);
    this.#guestWrites++;
  }

  leave(): void {
    if (--this.#guestWrites > 0) return;
    const waiting = this.#drained;
    this.#drained = [];
    for (const resolve of waiting) resolve();
  }

  /** Resolves once no guest write is in flight (at once when none is). */
  drain(): Promise<void> {
    if (this.#guestWrites === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /** What a migration worker needs to reach the drives through a DriveHost (remote-drives.ts). */
  workerInfos(): WorkerDriveInfo[] {
    return this.#drives.map((d) => d.workerInfo());
  }

  /** Waits for guest writes, then flushes the writable images and closes them all (each once). */
  async close(): Promise<void> {
    await this.drain();
    const drives = this.#drives;
    this.#drives = [];
    const failures: unknown[] = [];
    for (const d of drives) {
      try {
        if (!d.readOnly) await d.flush();
      } catch (err) {
        failures.push(err);
      }
      await d.image.close().catch((err: unknown) => failures.push(err));
    }
    if (failures.length > 0) throw new AggregateError(failures, `closing the drives: ${failures.map((e) => (e as Error).message).join('; ')}`);
  }
}
