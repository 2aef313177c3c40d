// What mig says it is: its own version and the QEMU whose wire and QMP it speaks.
import { VERSION } from '../qmp/version.js';

const q = VERSION.qemu;
/** "mig 0.1.0". */
export const MIG_VERSION = VERSION.package;
/** "7.2.0". */
export const QEMU_VERSION = `${q.major}.${q.minor}.${q.micro}`;
