export * from './constants.js';
export { RdmaProtocolError, RdmaPeerError, RdmaDisconnectedError } from './errors.js';
export { decodeControlMessage, encodeControlMessage, writeControlHeader, type ControlMessage } from './control-message.js';
export {
  decodeCompress, decodeDestBlocks, decodeRegisterCommands, decodeRegisterResults, encodeCompress, encodeDestBlocks,
  encodeRegisterCommands, encodeRegisterResults, type CompressCommand, type DestBlock, type RegisterCommand, type RegisterResult,
} from './control-bodies.js';
export {
  acceptCapabilities, connectOutcome, decodeCapabilities, encodeCapabilities, offerCapabilities, type RdmaCapabilities,
} from './capabilities.js';
export { chunkEnd, chunkIndex, chunkSlots, chunkStart, extraChunks, registrationRange } from './chunks.js';
export { ControlReceiver, ControlSender, errorMessage, type ControlLink } from './control-channel.js';
export { QemuFileReader, QemuFileWriter } from './qemu-file-stream.js';
export { applyDestBlocks, SourceBlock, sourceBlocks, type RamBlockInfo } from './source-blocks.js';
export { RdmaRamWriter, type RamWriterStats, type RdmaWritePort } from './ram-writer.js';
export { DestinationRegistrations, type RdmaRegisterPort } from './dest-registrations.js';
export * from './work-request-id.js';
export { RdmaRamSaveControl } from './ram-save-control.js';
export { RdmaRamLoadControl } from './ram-load-control.js';
export { RdmaStreamReader, RdmaStreamWriter } from './ram-stream.js';
