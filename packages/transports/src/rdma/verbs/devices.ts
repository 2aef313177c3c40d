import { TransportError } from '../../errors.js';
import { loadVerbs } from './library.js';

export type RdmaDeviceList = { devices: string[] } | { devices: []; reason: string };

/**
 * The RDMA devices libibverbs lists (ibv_get_device_list), by name: mlx5_0, rxe0, siw0 … With no kernel
 * support (no /sys/class/infiniband) the list is empty; when the libraries cannot be loaded, `reason` says why.
 */
export function listRdmaDevices(): RdmaDeviceList {
  let verbs;
  try {
    verbs = loadVerbs();
  } catch (err) {
    return { devices: [], reason: `libibverbs cannot be loaded: ${(err as Error).message}` };
  }
  const count = [0];
  const list = verbs.ibv_get_device_list(count);
  if (list === null) return { devices: [] };
  try {
    const pointers = verbs.koffi.decode(list, 'void *', count[0]!) as object[];
    return { devices: pointers.map((device) => verbs.ibv_get_device_name(device)) };
  } finally {
    verbs.ibv_free_device_list(list);
  }
}

export function hasRdmaDevice(): boolean {
  return listRdmaDevices().devices.length > 0;
}

/**
 * Throws at once, naming the URI, when this machine has no RDMA device: opening `rdma:` would otherwise
 * fail deep in librdmacm (or wait for an address that never resolves).
 */
export function requireRdmaDevice(endpoint: string): string[] {
  const found = listRdmaDevices();
  if (found.devices.length > 0) return found.devices;
  const why = 'reason' in found ? found.reason : 'libibverbs lists none';
  throw new TransportError(`${endpoint}: no RDMA device was found (${why})`, { endpoint, code: 'ENODEV' });
}
