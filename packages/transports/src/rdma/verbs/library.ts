/**
 * libibverbs and librdmacm (Debian's rdma-core, installed with QEMU) reached through koffi, loaded on first
 * use so that nothing else in @mig/transports needs them. Linux LP64 only. ibv_post_send, ibv_post_recv,
 * ibv_poll_cq and ibv_req_notify_cq are inline functions in verbs.h that call through the device context's
 * ops table: they are called through those pointers (struct offsets in structs.ts).
 */
import { createRequire } from 'node:module';

type Koffi = typeof import('koffi');
type Fn = (...args: never[]) => unknown;

/** An opaque C pointer as koffi hands it over. */
export type Pointer = object;

/** The ops-table functions, as koffi prototypes (for koffi.decode of the context's pointers). */
export interface VerbsPrototypes {
  pollCq: unknown;
  reqNotifyCq: unknown;
  postSend: unknown;
  postRecv: unknown;
}

export interface VerbsLibrary {
  koffi: Koffi;
  protos: VerbsPrototypes;
  // libibverbs
  ibv_get_device_list(count: number[]): Pointer | null;
  ibv_free_device_list(list: Pointer): void;
  ibv_get_device_name(device: Pointer): string;
  ibv_alloc_pd(context: Pointer): Pointer | null;
  ibv_dealloc_pd(pd: Pointer): number;
  ibv_create_comp_channel(context: Pointer): Pointer | null;
  ibv_destroy_comp_channel(channel: Pointer): number;
  ibv_create_cq(context: Pointer, cqe: number, cqContext: null, channel: Pointer, vector: number): Pointer | null;
  ibv_destroy_cq(cq: Pointer): number;
  ibv_reg_mr(pd: Pointer, addr: Uint8Array, length: number, access: number): Pointer | null;
  ibv_dereg_mr(mr: Pointer): number;
  ibv_get_cq_event(channel: Pointer, cq: [Pointer | null], context: [Pointer | null]): number;
  ibv_ack_cq_events(cq: Pointer, count: number): void;
  ibv_wc_status_str(status: number): string;
  // librdmacm
  rdma_create_event_channel(): Pointer | null;
  rdma_destroy_event_channel(channel: Pointer): void;
  rdma_create_id(channel: Pointer, id: [Pointer | null], context: null, ps: number): number;
  rdma_destroy_id(id: Pointer): number;
  rdma_getaddrinfo(node: string | null, service: string, hints: Uint8Array | null, result: [Pointer | null]): number;
  rdma_freeaddrinfo(info: Pointer): void;
  rdma_resolve_addr(id: Pointer, src: null, dst: Pointer, timeoutMs: number): number;
  rdma_resolve_route(id: Pointer, timeoutMs: number): number;
  rdma_bind_addr(id: Pointer, addr: Pointer): number;
  rdma_listen(id: Pointer, backlog: number): number;
  rdma_get_cm_event(channel: Pointer, event: [Pointer | null]): number;
  rdma_ack_cm_event(event: Pointer): number;
  rdma_event_str(event: number): string;
  rdma_create_qp(id: Pointer, pd: Pointer, attr: Uint8Array): number;
  rdma_destroy_qp(id: Pointer): void;
  rdma_connect(id: Pointer, param: Uint8Array): number;
  rdma_accept(id: Pointer, param: Uint8Array): number;
  rdma_disconnect(id: Pointer): number;
  // libc
  fcntl(fd: number, cmd: number, arg: number): number;
  /** The address of a typed array's first byte (memmove(p, p, 0) returns p). */
  addressOf(bytes: Uint8Array): number;
  errno(): number;
}

let library: VerbsLibrary | undefined;
let loadError: Error | undefined;

function bind(koffi: Koffi): VerbsLibrary {
  const verbs = koffi.load('libibverbs.so.1');
  const cm = koffi.load('librdmacm.so.1');
  const libc = koffi.load('libc.so.6');
  const errnoLocation = libc.func('int *__errno_location(void)');
  const v = (decl: string): Fn => verbs.func(decl) as Fn;
  const c = (decl: string): Fn => cm.func(decl) as Fn;
  return {
    koffi,
    protos: {
      pollCq: koffi.proto('int mig_ibv_poll_cq(void *cq, int num_entries, void *wc)'),
      reqNotifyCq: koffi.proto('int mig_ibv_req_notify_cq(void *cq, int solicited_only)'),
      postSend: koffi.proto('int mig_ibv_post_send(void *qp, void *wr, _Out_ void **bad_wr)'),
      postRecv: koffi.proto('int mig_ibv_post_recv(void *qp, void *wr, _Out_ void **bad_wr)'),
    },
    ibv_get_device_list: v('void *ibv_get_device_list(_Out_ int *num)'),
    ibv_free_device_list: v('void ibv_free_device_list(void *list)'),
    ibv_get_device_name: v('const char *ibv_get_device_name(void *device)'),
    ibv_alloc_pd: v('void *ibv_alloc_pd(void *context)'),
    ibv_dealloc_pd: v('int ibv_dealloc_pd(void *pd)'),
    ibv_create_comp_channel: v('void *ibv_create_comp_channel(void *context)'),
    ibv_destroy_comp_channel: v('int ibv_destroy_comp_channel(void *channel)'),
    ibv_create_cq: v('void *ibv_create_cq(void *context, int cqe, void *cq_context, void *channel, int comp_vector)'),
    ibv_destroy_cq: v('int ibv_destroy_cq(void *cq)'),
    ibv_reg_mr: v('void *ibv_reg_mr(void *pd, void *addr, size_t length, int access)'),
    ibv_dereg_mr: v('int ibv_dereg_mr(void *mr)'),
    ibv_get_cq_event: v('int ibv_get_cq_event(void *channel, _Out_ void **cq, _Out_ void **cq_context)'),
    ibv_ack_cq_events: v('void ibv_ack_cq_events(void *cq, unsigned int nevents)'),
    ibv_wc_status_str: v('const char *ibv_wc_status_str(int status)'),
    rdma_create_event_channel: c('void *rdma_create_event_channel(void)'),
    rdma_destroy_event_channel: c('void rdma_destroy_event_channel(void *channel)'),
    rdma_create_id: c('int rdma_create_id(void *channel, _Out_ void **id, void *context, int ps)'),
    rdma_destroy_id: c('int rdma_destroy_id(void *id)'),
    rdma_getaddrinfo: c('int rdma_getaddrinfo(const char *node, const char *service, void *hints, _Out_ void **res)'),
    rdma_freeaddrinfo: c('void rdma_freeaddrinfo(void *res)'),
    rdma_resolve_addr: c('int rdma_resolve_addr(void *id, void *src, void *dst, int timeout_ms)'),
    rdma_resolve_route: c('int rdma_resolve_route(void *id, int timeout_ms)'),
    rdma_bind_addr: c('int rdma_bind_addr(void *id, void *addr)'),
    rdma_listen: c('int rdma_listen(void *id, int backlog)'),
    rdma_get_cm_event: c('int rdma_get_cm_event(void *channel, _Out_ void **event)'),
    rdma_ack_cm_event: c('int rdma_ack_cm_event(void *event)'),
    rdma_event_str: c('const char *rdma_event_str(int event)'),
    rdma_create_qp: c('int rdma_create_qp(void *id, void *pd, void *attr)'),
    rdma_destroy_qp: c('void rdma_destroy_qp(void *id)'),
    rdma_connect: c('int rdma_connect(void *id, void *param)'),
    rdma_accept: c('int rdma_accept(void *id, void *param)'),
    rdma_disconnect: c('int rdma_disconnect(void *id)'),
    fcntl: libc.func('int fcntl(int fd, int cmd, int arg)') as Fn,
    addressOf: ((memmove: Fn) => (bytes: Uint8Array) => Number(memmove(bytes as never, bytes as never, 0 as never)))(
      libc.func('uintptr_t memmove(void *dst, void *src, size_t n)') as Fn,
    ),
    errno: () => koffi.decode(errnoLocation(), 'int') as number,
  } as unknown as VerbsLibrary;
}

/** The libraries, or an Error saying why they cannot be had (not Linux LP64, koffi or a library missing). */
export function loadVerbs(): VerbsLibrary {
  if (library !== undefined) return library;
  if (loadError !== undefined) throw loadError;
  try {
    if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) {
      throw new Error(`RDMA is implemented for Linux on x64 and arm64, not ${process.platform}-${process.arch}`);
    }
    library = bind(createRequire(import.meta.url)('koffi') as Koffi);
    return library;
  } catch (err) {
    loadError = err instanceof Error ? err : new Error(String(err));
    throw loadError;
  }
}
