/**
 * Canonical bencode encoder (BEP 3): dictionary keys sorted by their raw bytes, integers in their
 * shortest form. `encode(decode(b))` equals `b` for every buffer the strict decoder accepts.
 *
 * Two passes: the first measures, the second writes into one exactly-sized Buffer, so large byte
 * strings (a torrent's `pieces`) are copied once.
 */
import { BencodeError } from './errors.js';
import type { Encodable } from './types.js';

type Entry = [key: Buffer, value: Encodable];

/** Normalised tree: strings become Buffers, dictionaries become key-sorted entry arrays. */
type Node = number | bigint | Buffer | Node[] | { entries: [Buffer, Node][] };

function normalise(v: Encodable, depth: number): Node {
  if (depth > 1000) throw new BencodeError('unencodable', 0, 'value nested too deeply');
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new BencodeError('unencodable', 0, `not a safe integer: ${v}`);
    return v;
  }
  if (typeof v === 'bigint') return v;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof Uint8Array) return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return (v as readonly Encodable[]).map((x) => normalise(x, depth + 1));
  const raw: Entry[] = [];
  if (v instanceof Map) {
    for (const [k, x] of v as ReadonlyMap<string, Encodable>) raw.push([Buffer.from(k, 'latin1'), x]);
  } else if (typeof v === 'object' && v !== null) {
    for (const k of Object.keys(v)) {
      const x = (v as Record<string, Encodable | undefined>)[k];
      if (x !== undefined) raw.push([Buffer.from(k, 'utf8'), x]);
    }
  } else {
    throw new BencodeError('unencodable', 0, `cannot encode a value of type ${typeof v}`);
  }
  raw.sort((a, b) => Buffer.compare(a[0], b[0]));
  for (let i = 1; i < raw.length; i++) {
    if (raw[i - 1]![0].equals(raw[i]![0])) {
      throw new BencodeError('unencodable', 0, `duplicate dictionary key "${raw[i]![0].toString('latin1')}"`);
    }
  }
  return { entries: raw.map(([k, x]) => [k, normalise(x, depth + 1)]) };
}

function decimalLength(n: number): number {
  return n < 10 ? 1 : String(n).length;
}

function measure(n: Node): number {
  if (typeof n === 'number' || typeof n === 'bigint') return String(n).length + 2;
  if (Buffer.isBuffer(n)) return decimalLength(n.length) + 1 + n.length;
  if (Array.isArray(n)) {
    let size = 2;
    for (const x of n) size += measure(x);
    return size;
  }
  let size = 2;
  for (const [k, x] of n.entries) size += decimalLength(k.length) + 1 + k.length + measure(x);
  return size;
}

function write(n: Node, out: Buffer, pos: number): number {
  if (typeof n === 'number' || typeof n === 'bigint') {
    return pos + out.write(`i${n}e`, pos, 'latin1');
  }
  if (Buffer.isBuffer(n)) {
    pos += out.write(`${n.length}:`, pos, 'latin1');
    return pos + n.copy(out, pos);
  }
  if (Array.isArray(n)) {
    out[pos++] = 0x6c; // 'l'
    for (const x of n) pos = write(x, out, pos);
    out[pos++] = 0x65; // 'e'
    return pos;
  }
  out[pos++] = 0x64; // 'd'
  for (const [k, x] of n.entries) {
    pos += out.write(`${k.length}:`, pos, 'latin1');
    pos += k.copy(out, pos);
    pos = write(x, out, pos);
  }
  out[pos++] = 0x65;
  return pos;
}

/** Encodes a value canonically. Throws `BencodeError` (reason `unencodable`) for what bencode cannot hold. */
export function encode(value: Encodable): Buffer {
  const node = normalise(value, 0);
  const out = Buffer.allocUnsafe(measure(node));
  const end = write(node, out, 0);
  // The two passes must agree; if they did not, the output would carry uninitialised bytes.
  if (end !== out.length) throw new Error(`bencode encoder size mismatch (${end} != ${out.length})`);
  return out;
}
