// Request lines as QEMU 7.2's clients (libvirt, qmp-shell, mig's own client) send them: the QMP fuzz seeds.
import type { SeedInput } from '@mig/fuzz';

const LINES = [
  '{"execute":"qmp_capabilities"}',
  '{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}',
  '{"execute":"query-status","id":"libvirt-1"}',
  '{"execute":"query-version","id":2}',
  '{"execute":"query-commands"}',
  '{"execute":"migrate","arguments":{"uri":"tcp:127.0.0.1:4444","blk":false,"inc":false},"id":{"seq":[1,2,null]}}',
  '{"execute":"migrate-incoming","arguments":{"uri":"unix:/tmp/mig.sock"}}',
  '{"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"xbzrle","state":true},{"capability":"block","state":false}]}}',
  '{"execute":"migrate-set-parameters","arguments":{"max-bandwidth":134217728,"downtime-limit":300,"xbzrle-cache-size":67108864}}',
  '{"execute":"query-migrate","id":"q\\u00e9\\n"}',
  '{"execute":"human-monitor-command","arguments":{"command-line":"info status"}}',
  '{"execute":"pmemsave","arguments":{"val":0,"size":4096,"filename":"/tmp/x"}}',
  '{"execute":"getfd","arguments":{"fdname":"fd0"}}',
  '{"exec-oob":"migrate_cancel","id":1e3}',
  '  {"execute" : "stop" , "arguments" : { } }\r',
  '{"execute":"x-mig-write","arguments":{"offset":4096,"data":"aGVsbG8="}}',
];

/** Each line as bytes, its token starts (quotes, braces, colons, commas) as record starts. */
export function qmpSeeds(): SeedInput[] {
  return LINES.map((line, i) => {
    const bytes = new Uint8Array(Buffer.from(line, 'utf8'));
    const boundaries: number[] = [];
    bytes.forEach((c, k) => {
      if (c === 0x22 || c === 0x7b || c === 0x7d || c === 0x3a || c === 0x2c || c === 0x5b) boundaries.push(k);
    });
    return { name: `line ${i}`, bytes, boundaries };
  });
}
