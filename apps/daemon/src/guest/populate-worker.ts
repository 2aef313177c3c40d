// Faults guest RAM in off the main thread (see populateHostMemory): QMP keeps answering meanwhile.
import { parentPort, workerData } from 'node:worker_threads';
import { populateHostMemory, type HostMemoryHandle, type PopulateMode } from './host-memory.js';

const { handles, mode } = workerData as { handles: HostMemoryHandle[]; mode: PopulateMode };
const started = Date.now();
const ok = handles.every((handle) => populateHostMemory(handle, mode));
parentPort!.postMessage({ ok, ms: Date.now() - started });
