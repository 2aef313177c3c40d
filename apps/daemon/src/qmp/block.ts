// query-block: every drive with its medium and image chain (QEMU 7.2's BlockInfo list, in -drive order).
import type { QmpHandlers } from '@mig/qmp';
import { blockInfo } from '../block/block-info.js';
import type { Drive } from '../block/drive.js';

export interface BlockControl {
  readonly drives: { readonly list: readonly Drive[] };
}

export function blockHandlers({ drives }: BlockControl): Pick<QmpHandlers, 'query-block'> {
  return {
    'query-block': () => Promise.all(drives.list.map((d) => blockInfo(d))),
  };
}
