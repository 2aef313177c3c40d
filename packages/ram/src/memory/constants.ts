/** Target page size of QEMU 7.2 on x86_64 (TARGET_PAGE_SIZE). */
export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;
