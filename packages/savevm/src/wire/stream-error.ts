/** A migration stream that cannot be accepted: where (absolute byte offset of the record) and what. */
export class StreamError extends Error {
  override readonly name = 'StreamError';
  /** Absolute byte offset in the stream of the record that was wrong. */
  readonly offset: number;
  /** The record kind, e.g. 'header', 'CONFIGURATION', 'ram MEM_SIZE', 'ram PAGE', 'section footer'. */
  readonly record: string;

  constructor(offset: number, record: string, message: string, options?: { cause?: unknown }) {
    super(`${record} record at byte ${offset}: ${message}`, options);
    this.offset = offset;
    this.record = record;
  }
}
