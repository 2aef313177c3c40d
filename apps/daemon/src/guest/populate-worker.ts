// Faults guest RAM in off the main thread (see populateHostMemory): QMP keeps answering meanwhile.
import { parentPort, workerData } from 'node:worker_threads';
import { populateHostMemory, type HostMemoryHandle } from './host-memory.js';

const handles = workerData as HostMemoryHandle[];
const started = Date.now();
const ok = handles.every((handle) => populateHostMemory(handle));
parentPort!.postMessage({ ok, ms: Date.now() - started });
