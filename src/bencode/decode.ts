/**
 * Strict bencode decoder (BEP 3).
 *
 * Rules enforced, so that a decoded value re-encodes to the very same bytes:
 * - integers are canonical: no leading zeros, no "-0", no empty digits;
 * - string lengths are canonical too, and never run past the buffer;
 * - dictionary keys are byte strings, strictly ascending (sorted and unique);
 * - nothing follows the root value (unless `decodePrefix` is used).
 * Bounded: nesting depth, number of tokens and string length are capped (libtorrent's bdecode
 * documents the same three limits). Any violation throws `BencodeError` with the byte offset;
 * nothing else is ever thrown for any input.
 *
 * Byte strings are returned as `Buffer` views over the input: zero copy.
 */
import { BencodeError } from './errors.js';
import type { BencodeDict, BencodeValue } from './types.js';

export interface DecodeLimits {
  /** Deepest nesting of lists and dictionaries. */
  maxDepth?: number;
  /** Most values (integers, strings, lists, dictionaries) in one buffer. */
  maxTokens?: number;
  /** Longest byte string. */
  maxStringLength?: number;
}

/** Byte range [start, end) of a value inside the decoded buffer. */
export interface Span {
  start: number;
  end: number;
}

export const DEFAULT_DECODE_LIMITS: Readonly<Required<DecodeLimits>> = {
  maxDepth: 100,
  maxTokens: 3_000_000,
  maxStringLength: 256 * 1024 * 1024,
};

const CH_0 = 0x30;
const CH_9 = 0x39;
const CH_COLON = 0x3a;
const CH_MINUS = 0x2d;
const CH_D = 0x64;
const CH_E = 0x65;
const CH_I = 0x69;
const CH_L = 0x6c;
/** 2^53 has 16 digits; anything longer is parsed as bigint, anything past this is refused. */
const MAX_INTEGER_DIGITS = 64;
const MAX_LENGTH_DIGITS = 12;

class Decoder {
  pos: number;
  tokens = 0;
  /** Spans of the root dictionary's values, filled only when asked for. */
  rootSpans: Map<string, Span> | undefined;

  constructor(
    readonly buf: Buffer,
    start: number,
    readonly limits: Required<DecodeLimits>,
  ) {
    this.pos = start;
  }

  fail(reason: ConstructorParameters<typeof BencodeError>[0], detail: string, at = this.pos): never {
    throw new BencodeError(reason, at, detail);
  }

  value(depth: number): BencodeValue {
    const buf = this.buf;
    if (this.pos >= buf.length) this.fail('unexpected-end', 'unexpected end of data');
    if (++this.tokens > this.limits.maxTokens) this.fail('too-many-tokens', `more than ${this.limits.maxTokens} values`);
    const c = buf[this.pos]!;
    if (c === CH_I) return this.integer();
    if (c >= CH_0 && c <= CH_9) return this.bytes();
    if (c === CH_L || c === CH_D) {
      if (depth >= this.limits.maxDepth) this.fail('too-deep', `nesting deeper than ${this.limits.maxDepth}`);
      return c === CH_L ? this.list(depth + 1) : this.dict(depth + 1);
    }
    return this.fail('unexpected-byte', `unexpected byte 0x${c.toString(16).padStart(2, '0')}`);
  }

  integer(): number | bigint {
    const buf = this.buf;
    const start = this.pos;
    let p = start + 1;
    let negative = false;
    if (buf[p] === CH_MINUS) {
      negative = true;
      p++;
    }
    const digitsStart = p;
    while (p < buf.length && buf[p]! >= CH_0 && buf[p]! <= CH_9) p++;
    if (p >= buf.length) this.fail('unexpected-end', 'unterminated integer', p);
    if (buf[p] !== CH_E) this.fail('unexpected-byte', 'integer must end with "e"', p);
    const digits = p - digitsStart;
    if (digits === 0) this.fail('non-canonical-integer', 'integer has no digits', start);
    if (buf[digitsStart] === CH_0 && (digits > 1 || negative)) {
      this.fail('non-canonical-integer', 'integer has a leading zero or is negative zero', start);
    }
    if (digits > MAX_INTEGER_DIGITS) this.fail('integer-too-large', `integer longer than ${MAX_INTEGER_DIGITS} digits`, start);
    this.pos = p + 1;
    if (digits <= 15) {
      let n = 0;
      for (let i = digitsStart; i < p; i++) n = n * 10 + (buf[i]! - CH_0);
      return negative ? -n : n;
    }
    const big = BigInt(buf.toString('latin1', start + 1, p));
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  /** Parses a string header and returns the [start, end) of its bytes. */
  stringSpan(): [number, number] {
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    let len = 0;
    while (p < buf.length && buf[p]! >= CH_0 && buf[p]! <= CH_9) {
      len = len * 10 + (buf[p]! - CH_0);
      p++;
      if (p - start > MAX_LENGTH_DIGITS) this.fail('string-too-long', 'string length has too many digits', start);
    }
    if (p >= buf.length) this.fail('unexpected-end', 'unterminated string length', p);
    if (buf[p] !== CH_COLON) this.fail('unexpected-byte', 'string length must be followed by ":"', p);
    if (buf[start] === CH_0 && p - start > 1) this.fail('non-canonical-integer', 'string length has a leading zero', start);
    if (len > this.limits.maxStringLength) this.fail('string-too-long', `string of ${len} bytes is over the limit`, start);
    const dataStart = p + 1;
    if (dataStart + len > buf.length) this.fail('unexpected-end', `string of ${len} bytes runs past the end`, start);
    this.pos = dataStart + len;
    return [dataStart, dataStart + len];
  }

  bytes(): Buffer {
    const [s, e] = this.stringSpan();
    return this.buf.subarray(s, e);
  }

  list(depth: number): BencodeValue[] {
    const buf = this.buf;
    this.pos++;
    const out: BencodeValue[] = [];
    while (true) {
      if (this.pos >= buf.length) this.fail('unexpected-end', 'unterminated list');
      if (buf[this.pos] === CH_E) break;
      out.push(this.value(depth));
    }
    this.pos++;
    return out;
  }

  dict(depth: number): BencodeDict {
    const buf = this.buf;
    const recordSpans = depth === 1 && this.rootSpans !== undefined;
    this.pos++;
    const out: BencodeDict = new Map();
    let prevStart = -1;
    let prevEnd = -1;
    while (true) {
      if (this.pos >= buf.length) this.fail('unexpected-end', 'unterminated dictionary');
      const c = buf[this.pos]!;
      if (c === CH_E) break;
      if (c < CH_0 || c > CH_9) this.fail('unexpected-byte', 'dictionary key must be a byte string');
      const keyAt = this.pos;
      if (++this.tokens > this.limits.maxTokens) this.fail('too-many-tokens', `more than ${this.limits.maxTokens} values`);
      const [ks, ke] = this.stringSpan();
      if (prevStart >= 0) {
        const cmp = buf.compare(buf, ks, ke, prevStart, prevEnd); // previous key against this one
        if (cmp === 0) this.fail('duplicate-key', `duplicate dictionary key ${JSON.stringify(buf.toString('latin1', ks, ke))}`, keyAt);
        if (cmp > 0) this.fail('unsorted-keys', `dictionary key ${JSON.stringify(buf.toString('latin1', ks, ke))} is out of order`, keyAt);
      }
      prevStart = ks;
      prevEnd = ke;
      const key = buf.toString('latin1', ks, ke);
      const valueStart = this.pos;
      out.set(key, this.value(depth));
      if (recordSpans) this.rootSpans!.set(key, { start: valueStart, end: this.pos });
    }
    this.pos++;
    return out;
  }
}

function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

function limitsOf(limits: DecodeLimits | undefined): Required<DecodeLimits> {
  return { ...DEFAULT_DECODE_LIMITS, ...limits };
}

/** Decodes exactly one value that fills the whole buffer. */
export function decode(input: Uint8Array, limits?: DecodeLimits): BencodeValue {
  const d = new Decoder(asBuffer(input), 0, limitsOf(limits));
  const v = d.value(0);
  if (d.pos !== d.buf.length) d.fail('trailing-bytes', `${d.buf.length - d.pos} bytes after the value`);
  return v;
}

/**
 * Decodes one value starting at `start` and says where it ended; what follows is left alone
 * (ut_metadata messages carry raw bytes after their bencoded header).
 */
export function decodePrefix(input: Uint8Array, start = 0, limits?: DecodeLimits): { value: BencodeValue; end: number } {
  if (!Number.isSafeInteger(start) || start < 0) throw new BencodeError('unexpected-end', 0, `start ${start} is not an index into the buffer`);
  const d = new Decoder(asBuffer(input), start, limitsOf(limits));
  const value = d.value(0);
  return { value, end: d.pos };
}

/**
 * Decodes a whole buffer and also returns the byte span of each value of the root dictionary,
 * so that a hash over the original bytes of `info` is possible (info-hashes are never computed
 * from a re-encoding).
 */
export function decodeWithSpans(input: Uint8Array, limits?: DecodeLimits): { value: BencodeValue; spans: Map<string, Span> } {
  const d = new Decoder(asBuffer(input), 0, limitsOf(limits));
  d.rootSpans = new Map();
  const value = d.value(0);
  if (d.pos !== d.buf.length) d.fail('trailing-bytes', `${d.buf.length - d.pos} bytes after the value`);
  return { value, spans: d.rootSpans };
}
