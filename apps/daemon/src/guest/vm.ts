// The guest as mig models it: RAM blocks and QEMU's run states. `-machine none` runs no guest code, so
// "running" is a state, not a CPU; what matters to migration is that the state moves as QEMU's does.
import { EventEmitter } from 'node:events';
import type { HostMemory } from './host-memory.js';

export type RunState =
  | 'prelaunch'
  | 'running'
  | 'paused'
  | 'inmigrate'
  | 'postmigrate'
  | 'finish-migrate'
  | 'shutdown'
  | 'internal-error';

export interface GuestRamBlock {
  idstr: string;
  guestAddress: number;
  memory: HostMemory;
}

export interface VmEvents {
  STOP: [];
  RESUME: [];
}

export class Vm extends EventEmitter<VmEvents> {
  #runstate: RunState;
  /** QEMU's `autostart`: start the guest once an incoming migration has loaded (cleared by -S or `stop`). */
  autostart: boolean;

  constructor(
    readonly name: string | undefined,
    readonly ram: readonly GuestRamBlock[],
    initial: RunState,
    autostart: boolean,
  ) {
    super();
    this.#runstate = initial;
    this.autostart = autostart;
  }

  get runstate(): RunState {
    return this.#runstate;
  }

  get running(): boolean {
    return this.#runstate === 'running';
  }

  get ramSize(): number {
    return this.ram.reduce((sum, block) => sum + block.memory.size, 0);
  }

  /** vm_start: RESUME is sent only when the guest was not already running. */
  start(): void {
    if (this.#runstate === 'running') return;
    this.#runstate = 'running';
    this.emit('RESUME');
  }

  /** vm_stop into `state`; STOP is sent only when the guest was running. */
  stop(state: RunState): void {
    const wasRunning = this.#runstate === 'running';
    this.#runstate = state;
    if (wasRunning) this.emit('STOP');
  }

  /** A run-state change that neither starts nor stops the guest (e.g. prelaunch → postmigrate). */
  setState(state: RunState): void {
    if (state === 'running') this.start();
    else this.stop(state);
  }

  /** Reads guest-physical [address, address+size): the bytes, or an error naming the hole. */
  readPhysical(address: number, size: number): Uint8Array[] {
    const parts: Uint8Array[] = [];
    let cursor = address;
    const end = address + size;
    while (cursor < end) {
      const block = this.ram.find((b) => cursor >= b.guestAddress && cursor < b.guestAddress + b.memory.size);
      if (!block) throw new Error(`guest-physical address 0x${cursor.toString(16)} is not backed by guest RAM`);
      const offset = cursor - block.guestAddress;
      const length = Math.min(end - cursor, block.memory.size - offset);
      parts.push(block.memory.bytes.subarray(offset, offset + length));
      cursor += length;
    }
    return parts;
  }
}
