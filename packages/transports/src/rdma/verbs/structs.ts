/**
 * Offsets and constants of the rdma-core structs mig touches, Linux LP64, from rdma-core 44's
 * <infiniband/verbs.h> and <rdma/rdma_cma.h> (stable ABI: these fields have not moved since rdma-core 1.x).
 */

export const ContextOffset = { device: 0, pollCq: 96, reqNotifyCq: 104, postSend: 208, postRecv: 216 } as const;
export const CmIdOffset = { verbs: 0, qp: 24 } as const;
export const CmEventOffset = { id: 0, listenId: 8, event: 16, status: 20, privateData: 24, privateDataLen: 32 } as const;
export const EventChannelOffset = { fd: 0 } as const;
export const CompChannelOffset = { fd: 8 } as const;
export const MrOffset = { addr: 16, length: 24, lkey: 36, rkey: 40 } as const;
export const AddrInfoOffset = { dstAddr: 32, next: 88 } as const;

export const SGE_BYTES = 16; // u64 addr, u32 length, u32 lkey
export const SEND_WR_BYTES = 128;
export const SendWrOffset = { wrId: 0, next: 8, sgList: 16, numSge: 24, opcode: 28, sendFlags: 32, remoteAddr: 40, rkey: 48 } as const;
export const RECV_WR_BYTES = 32;
export const RecvWrOffset = { wrId: 0, next: 8, sgList: 16, numSge: 24 } as const;
export const WC_BYTES = 48;
export const WcOffset = { wrId: 0, status: 8, opcode: 12, byteLen: 20 } as const;
export const QP_INIT_ATTR_BYTES = 64;
export const QpInitAttrOffset = { sendCq: 8, recvCq: 16, maxSendWr: 32, maxRecvWr: 36, maxSendSge: 40, maxRecvSge: 44, qpType: 52 } as const;
export const CONN_PARAM_BYTES = 24;
export const ConnParamOffset = { privateData: 0, privateDataLen: 8, responderResources: 9, initiatorDepth: 10, retryCount: 12 } as const;

export const RDMA_PS_TCP = 0x0106;
export const IBV_QPT_RC = 2;
export const IBV_WR_RDMA_WRITE = 0;
export const IBV_WR_SEND = 2;
export const IBV_SEND_SIGNALED = 2;
export const IBV_ACCESS_LOCAL_WRITE = 1;
export const IBV_ACCESS_REMOTE_WRITE = 2;
export const IBV_WC_SUCCESS = 0;

export const CmEvent = {
  ADDR_RESOLVED: 0, ADDR_ERROR: 1, ROUTE_RESOLVED: 2, ROUTE_ERROR: 3, CONNECT_REQUEST: 4, CONNECT_RESPONSE: 5,
  CONNECT_ERROR: 6, UNREACHABLE: 7, REJECTED: 8, ESTABLISHED: 9, DISCONNECTED: 10, DEVICE_REMOVAL: 11,
} as const;

export const F_GETFL = 3;
export const F_SETFL = 4;
export const O_NONBLOCK = 0o4000;
export const EAGAIN = 11;
