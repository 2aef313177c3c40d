export { xbzrleEncode, XBZRLE_MAX_RUN } from './encode.js';
export { xbzrleDecode, XbzrleDecodeError, type XbzrleDecodeFault } from './decode.js';
export {
  XbzrlePageCache,
  XbzrlePageEncoder,
  XbzrleCacheSizeError,
  XbzrleResult,
  validateXbzrleCacheSize,
  pow2floor,
  CACHED_PAGE_LIFETIME,
  DEFAULT_XBZRLE_CACHE_SIZE,
  type XbzrleStats,
} from './cache.js';
export { xbzrleEncodeTs, xbzrleEncodeWasm } from './encode.js';
export { xbzrleDecodeTs, xbzrleDecodeWasm } from './decode.js';
export { wasmSupported as xbzrleWasmSupported } from './wasm.js';
