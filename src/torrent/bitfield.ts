/** A fixed-size bit set in BitTorrent order: bit 0 is the high bit of byte 0 (BEP 3). */
export class Bitfield {
  readonly bytes: Uint8Array;
  private count = 0;

  constructor(readonly size: number, bytes?: Uint8Array) {
    this.bytes = new Uint8Array(Math.ceil(size / 8));
    if (bytes) {
      this.bytes.set(bytes.subarray(0, this.bytes.length));
      // Spare bits past `size` are cleared so counts and equality stay exact.
      if (size % 8 !== 0) this.bytes[this.bytes.length - 1]! &= (0xff << (8 - (size % 8))) & 0xff;
      for (let i = 0; i < size; i++) if (this.has(i)) this.count++;
    }
  }

  static full(size: number): Bitfield {
    const b = new Bitfield(size);
    for (let i = 0; i < size; i++) b.set(i);
    return b;
  }

  has(i: number): boolean {
    return (this.bytes[i >> 3]! & (0x80 >> (i & 7))) !== 0;
  }

  set(i: number): boolean {
    if (this.has(i)) return false;
    this.bytes[i >> 3]! |= 0x80 >> (i & 7);
    this.count++;
    return true;
  }

  clear(i: number): boolean {
    if (!this.has(i)) return false;
    this.bytes[i >> 3]! &= ~(0x80 >> (i & 7));
    this.count--;
    return true;
  }

  get cardinality(): number {
    return this.count;
  }

  get complete(): boolean {
    return this.count === this.size;
  }

  get empty(): boolean {
    return this.count === 0;
  }

  /** True when a received bitfield has the right length and no spare bits set. */
  static valid(bytes: Uint8Array, size: number): boolean {
    if (bytes.length !== Math.ceil(size / 8)) return false;
    if (size % 8 === 0) return true;
    return (bytes[bytes.length - 1]! & (0xff >> (size % 8))) === 0;
  }
}
