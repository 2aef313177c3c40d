/** One bit per unit (page, chunk): which ones an output file holds data for. Grows on demand. */
export class UnitBitmap {
  private bits: Uint8Array;

  constructor(units = 0) {
    this.bits = new Uint8Array(Math.ceil(units / 8));
  }

  has(unit: number): boolean {
    const byte = unit >>> 3;
    return byte < this.bits.length && (this.bits[byte]! & (1 << (unit & 7))) !== 0;
  }

  set(unit: number): void {
    const byte = unit >>> 3;
    if (byte >= this.bits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    this.bits[byte]! |= 1 << (unit & 7);
  }
}
