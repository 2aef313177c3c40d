// mig-daemon's -h / -help / --help and -version / --version, in QEMU 7.2's shape (its usage line, option list
// and "version ... Copyright" lines), saying what mig is and which QEMU it speaks.
import { VERSION } from '../qmp/version.js';

const q = VERSION.qemu;
const MIG = VERSION.package.replace(/^mig /, '');

export const DAEMON_VERSION_TEXT =
  `mig-daemon version ${MIG}, speaking QEMU ${q.major}.${q.minor}.${q.micro}'s migration stream and QMP\n` +
  'Copyright (c) the mig developers (MIT license)\n';

export const DAEMON_HELP_TEXT = `${DAEMON_VERSION_TEXT}usage: mig-daemon [options]

A migration source or target with QEMU's command line: guest RAM (and drives) without a CPU.

Standard options:
-h or -help     display this help and exit
-version        display version information and exit
-machine none[,memory-backend=ID]
                the only machine: no devices; memory-backend= names the backend that is its RAM
-m [size=]SIZE[,slots=N,maxmem=SIZE]
                guest RAM (MiB without a suffix)
-object memory-backend-file,id=ID,size=SIZE,mem-path=FILE,share=on[,prealloc=on|off]
                the guest RAM is FILE itself
-object memory-backend-ram,id=ID,size=SIZE[,prealloc=on|off]
                anonymous guest RAM
-drive if=none,id=ID,file=FILE[,format=raw|qcow2][,readonly=on|off]
                a disk for block migration (blk, inc)
-name NAME      the guest's name
-S              do not start the guest
-nodefaults, -no-user-config, -no-shutdown, -no-reboot, -display none, -serial none, -monitor none,
-vga none, -parallel none, -accel tcg|qtest
                accepted, change nothing (so QEMU harnesses run unchanged)

QMP and migration:
-qmp unix:PATH,server=on,wait=off | tcp:HOST:PORT,server=on,wait=off
                a QMP monitor (several may be given)
-incoming URI | defer
                wait for a migration on tcp:HOST:PORT, unix:PATH, exec:COMMAND or fd:N; defer: migrate-incoming
-metrics tcp:HOST:PORT
                serve Prometheus metrics of the migrations at http://HOST:PORT/metrics (off unless given)

mig's own guest workloads:
-workload dirty-rate=SIZE/s,wss=SIZE[,offset=SIZE][,pattern=random|sparse|zero]
                a guest that writes its RAM while it runs
-disk-workload drive=ID,rate=SIZE/s[,region=OFFSET+LEN][,pattern=random|sparse|zero][,block=SIZE]
                a guest that writes a drive while it runs

See README.md for what mig does and where it differs from QEMU ${q.major}.${q.minor}.
`;
