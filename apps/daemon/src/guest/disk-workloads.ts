// The disk workloads of the guest, at most one per drive, made when first configured. They follow the
// guest's run state together (Daemon: STOP / RESUME).
import type { DiskWorkloadInfo } from '@mig/qmp';
import { DiskWorkload, type DiskWorkloadDrive } from './disk-workload.js';

export class DiskWorkloadError extends Error {
  override name = 'DiskWorkloadError';
}

export class DiskWorkloads {
  readonly #byDrive = new Map<string, DiskWorkload>();
  #guestRunning = false;

  constructor(private readonly drives: { get(id: string): (DiskWorkloadDrive & { readonly readOnly: boolean }) | undefined; readonly list: readonly { id: string }[] }) {}

  /** The workload of drive `id`, if it has one. */
  get(id: string): DiskWorkload | undefined {
    return this.#byDrive.get(id);
  }

  /** The workload of drive `id`, made if it has none yet; throws DiskWorkloadError for a drive it cannot write. */
  of(id: string): DiskWorkload {
    const existing = this.#byDrive.get(id);
    if (existing !== undefined) return existing;
    const drive = this.drives.get(id);
    if (drive === undefined) {
      const known = this.drives.list.map((d) => d.id).join(', ') || 'none';
      throw new DiskWorkloadError(`there is no drive '${id}' (drives: ${known})`);
    }
    if (drive.readOnly) throw new DiskWorkloadError(`drive '${id}' is read-only`);
    const workload = new DiskWorkload(drive);
    workload.setGuestRunning(this.#guestRunning);
    this.#byDrive.set(id, workload);
    return workload;
  }

  setGuestRunning(running: boolean): void {
    this.#guestRunning = running;
    for (const w of this.#byDrive.values()) w.setGuestRunning(running);
  }

  info(): DiskWorkloadInfo[] {
    return [...this.#byDrive.values()].map((w) => w.info());
  }

  /** Resolves once no workload has a write in flight (QEMU's stop drains block I/O before it answers). */
  async idle(): Promise<void> {
    await Promise.all([...this.#byDrive.values()].map((w) => w.idle()));
  }

  /** Stops every workload and waits for its writes in flight. */
  async close(): Promise<void> {
    await Promise.all([...this.#byDrive.values()].map((w) => w.close()));
  }
}
