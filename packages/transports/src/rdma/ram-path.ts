// The RAM path over a real connection: the RDMA hooks @mig/ram's ram section and loader call, and the
// stream reader/writer that put each registration round at its HOOK record's place in the stream.
import type { TransportRamBlock } from '../types.js';
import type { ControlReceiver, ControlSender } from './protocol/control-channel.js';
import { DestinationRegistrations } from './protocol/dest-registrations.js';
import { QemuFileWriter } from './protocol/qemu-file-stream.js';
import { RdmaRamLoadControl } from './protocol/ram-load-control.js';
import { RdmaRamSaveControl } from './protocol/ram-save-control.js';
import { RdmaStreamReader, RdmaStreamWriter } from './protocol/ram-stream.js';
import { RdmaRamWriter } from './protocol/ram-writer.js';
import { sourceBlocks, type RamBlockInfo } from './protocol/source-blocks.js';
import type { RdmaConnection } from './verbs/connection.js';
import { VerbsRegisterPort, VerbsWritePort } from './verbs/ram-ports.js';

const infoOf = (block: TransportRamBlock): RamBlockInfo => ({ name: block.name, offset: block.offset, length: block.bytes.byteLength });

/** The source: RdmaRamWriter over the connection's QP (pin-all as negotiated), its hook and the stream. */
export function sourceRamPath(
  connection: RdmaConnection, sender: ControlSender, ram: readonly TransportRamBlock[],
): { control: RdmaRamSaveControl; stream: RdmaStreamWriter } {
  const port = new VerbsWritePort(connection, ram.map((b) => b.bytes));
  const writer = new RdmaRamWriter(sourceBlocks(ram.map(infoOf)), sender, port, connection.pinAll);
  const control = new RdmaRamSaveControl(writer);
  return { control, stream: new RdmaStreamWriter(new QemuFileWriter(sender), control) };
}

/** The destination: registrations over the connection's QP, the load hook and the stream reader. */
export function destinationRamPath(
  connection: RdmaConnection, receiver: ControlReceiver, ram: readonly TransportRamBlock[],
): { control: RdmaRamLoadControl; reader: RdmaStreamReader } {
  const port = new VerbsRegisterPort(connection, ram.map((b) => b.bytes));
  const control = new RdmaRamLoadControl(new DestinationRegistrations(ram.map(infoOf), port, connection.pinAll));
  return { control, reader: new RdmaStreamReader(receiver, control) };
}
