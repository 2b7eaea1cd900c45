/**
 * Property tests (fast-check, fixed seeds): the encoder and the strict decoder are inverse on every
 * bencode value; the decoder accepts exactly the canonical encodings; and nothing but our typed
 * errors ever escapes the decoder or the torrent parser, whatever the bytes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BencodeError, decode, decodePrefix, decodeWithSpans, encode, isDict } from '../../src/bencode/index.js';
import type { BencodeDict, BencodeErrorReason, BencodeValue, DecodeLimits } from '../../src/bencode/index.js';
import { MetainfoError } from '../../src/metainfo/errors.js';
import { parseInfo, parseTorrent } from '../../src/metainfo/parse.js';
import type { Metainfo } from '../../src/metainfo/types.js';
import { makeBases } from './support/bad-torrent-corpus.js';

const SEED = 42;

// ---------------------------------------------------------------------------------------------
// Arbitraries

const MAX_DIGITS_BIGINT = 10n ** 64n - 1n; // the decoder's longest integer: 64 digits

/** Integers as the decoder returns them: safe ones as numbers, the rest as bigints. */
const integerArb: fc.Arbitrary<number | bigint> = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map((n) => n + 0), // no -0: it encodes as i0e
  fc.maxSafeInteger().map((n) => n + 0),
  fc.bigInt({ min: 2n ** 53n, max: MAX_DIGITS_BIGINT }),
  fc.bigInt({ min: -MAX_DIGITS_BIGINT, max: -(2n ** 53n) }),
);

const bytesArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
  fc.string({ maxLength: 12 }).map((s) => Buffer.from(s, 'utf8')),
);

/** Dictionary keys in the decoder's form: raw bytes as a latin1 string. */
const keyArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.uint8Array({ maxLength: 6 }).map((u) => Buffer.from(u).toString('latin1')),
  fc.constantFrom('info', 'length', 'name', 'path', 'pieces', 'piece length', ''),
);

const { value: valueArb, dict: dictArb } = fc.letrec<{ value: BencodeValue; list: BencodeValue[]; dict: BencodeDict }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 6, withCrossShrink: true }, integerArb, bytesArb, tie('list'), tie('dict')),
  list: fc.array(tie('value'), { maxLength: 5 }),
  dict: fc.uniqueArray(fc.tuple(keyArb, tie('value')), { selector: ([k]) => k, maxLength: 5 }).map((entries) => new Map(entries)),
}));

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'duplicate'; at: number; count: number };

/** Bytes that matter to bencode, so insertions and overwrites hit the grammar often. */
const grammarByte = fc.oneof(fc.constantFrom(...Buffer.from('ilde0123456789:-')), fc.integer({ min: 0, max: 255 }));

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: grammarByte }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(grammarByte, { minLength: 1, maxLength: 6 }).map((a) => Uint8Array.from(a)) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 24 }) }),
);

function mutate(input: Buffer, mutations: readonly Mutation[]): Buffer {
  let buf = Buffer.from(input);
  for (const m of mutations) {
    const at = buf.length === 0 ? 0 : m.at % (buf.length + (m.kind === 'insert' ? 1 : 0));
    switch (m.kind) {
      case 'flip':
        if (buf.length > 0) buf[at] = buf[at]! ^ (1 << m.bit);
        break;
      case 'set':
        if (buf.length > 0) buf[at] = m.byte;
        break;
      case 'truncate':
        buf = buf.subarray(0, at);
        break;
      case 'insert':
        buf = Buffer.concat([buf.subarray(0, at), m.bytes, buf.subarray(at)]);
        break;
      case 'delete':
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + m.count)]);
        break;
      case 'duplicate':
        buf = Buffer.concat([buf.subarray(0, at + m.count), buf.subarray(at)]);
        break;
    }
  }
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Checks

const REASONS = new Set<BencodeErrorReason>([
  'unexpected-end',
  'unexpected-byte',
  'non-canonical-integer',
  'integer-too-large',
  'string-too-long',
  'unsorted-keys',
  'duplicate-key',
  'too-deep',
  'too-many-tokens',
  'trailing-bytes',
]);

function assertBencodeError(e: unknown, input: Uint8Array): void {
  if (!(e instanceof BencodeError)) throw e; // fast-check reports it with the counterexample
  assert.ok(REASONS.has(e.reason), `decoder reason ${e.reason}`);
  assert.ok(Number.isInteger(e.offset) && e.offset >= 0 && e.offset <= input.length, `offset ${e.offset} outside [0, ${input.length}]`);
}

/**
 * decode, decodeWithSpans and decodePrefix on arbitrary bytes: either a BencodeError, or a value
 * whose canonical encoding is exactly the input (the decoder accepts canonical bencode only).
 */
function checkDecoders(input: Uint8Array, limits?: DecodeLimits): void {
  let value: BencodeValue | undefined;
  try {
    value = decode(input, limits);
  } catch (e) {
    assertBencodeError(e, input);
  }
  if (value !== undefined) assert.ok(encode(value).equals(input), 'accepted a non-canonical encoding');

  try {
    const { value: v, spans } = decodeWithSpans(input, limits);
    assert.ok(value !== undefined, 'decodeWithSpans accepted what decode refused');
    if (isDict(v)) {
      for (const [k, span] of spans) assert.ok(encode(v.get(k)!).equals(input.subarray(span.start, span.end)), `span of ${k}`);
    }
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assertBencodeError(e, input);
    assert.equal(value, undefined, 'decodeWithSpans refused what decode accepted');
  }

  try {
    const { value: v, end } = decodePrefix(input, 0, limits);
    assert.ok(end > 0 && end <= input.length);
    assert.ok(encode(v).equals(input.subarray(0, end)), 'decodePrefix accepted a non-canonical prefix');
    if (value !== undefined) assert.equal(end, input.length);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assertBencodeError(e, input);
    assert.equal(value, undefined, 'decodePrefix refused what decode accepted');
  }
}

const TORRENT_CODES = new Set([
  'ERR_BENCODE',
  'ERR_METAINFO_SHAPE',
  'ERR_METAINFO_VALUE',
  'ERR_METAINFO_PATH',
  'ERR_METAINFO_PIECES',
  'ERR_METAINFO_LAYERS',
  'ERR_METAINFO_HYBRID',
  'ERR_METAINFO_LIMIT',
]);

/** Invariants of any torrent the parser accepts. */
function checkMetainfo(m: Metainfo): void {
  assert.ok(m.length > 0);
  assert.ok(Number.isSafeInteger(m.layoutLength) && m.layoutLength >= m.length);
  assert.equal(m.pieceCount, Math.ceil(m.layoutLength / m.pieceLength));
  if (m.pieces) assert.equal(m.pieces.length, m.pieceCount * 20);
  for (const f of m.files) {
    assert.ok(f.length >= 0 && f.offset >= 0 && f.offset + f.length <= m.layoutLength);
    if (!f.pad) for (const c of f.path) assert.ok(c !== '' && c !== '.' && c !== '..' && !c.includes('/') && !c.includes('\\'), `unsafe path ${f.path.join('/')}`);
  }
}

/** parseTorrent (or parseInfo): a BencodeError or MetainfoError, or a sane Metainfo. */
function checkParse(parse: () => Metainfo, input: Uint8Array): void {
  let m: Metainfo;
  try {
    m = parse();
  } catch (e) {
    if (!(e instanceof BencodeError || e instanceof MetainfoError)) throw e;
    assert.ok(TORRENT_CODES.has(e.code), `code ${e.code}`);
    assert.ok(!e.message.includes('\n'), 'one-line message');
    if (e instanceof BencodeError) assert.ok(e.offset >= 0 && e.offset <= input.length);
    return;
  }
  checkMetainfo(m);
}

// ---------------------------------------------------------------------------------------------

void describe('bencode properties', () => {
  void it('encode → decode → encode is byte-for-byte stable', () => {
    fc.assert(
      fc.property(valueArb, (v) => {
        const once = encode(v);
        const twice = encode(decode(once));
        assert.ok(twice.equals(once));
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  void it('decode(encode(x)) equals x structurally', () => {
    fc.assert(
      fc.property(valueArb, (v) => {
        assert.deepStrictEqual(decode(encode(v)), v);
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  void it('decodeWithSpans gives each root value\'s exact bytes', () => {
    fc.assert(
      fc.property(dictArb, (d) => {
        const bytes = encode(d);
        const { value, spans } = decodeWithSpans(bytes);
        assert.deepStrictEqual(value, d);
        assert.deepStrictEqual([...spans.keys()].sort(), [...d.keys()].sort());
        for (const [k, x] of d) {
          const span = spans.get(k)!;
          assert.ok(bytes.subarray(span.start, span.end).equals(encode(x)));
        }
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  void it('decodePrefix finds the end of a value between arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), valueArb, fc.uint8Array({ maxLength: 8 }), (before, v, after) => {
        const bytes = encode(v);
        const input = Buffer.concat([before, bytes, after]);
        const { value, end } = decodePrefix(input, before.length);
        assert.equal(end, before.length + bytes.length);
        assert.deepStrictEqual(value, v);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  void it('random bytes: only BencodeError, and whatever is accepted is canonical', () => {
    const alphabet = fc.array(grammarByte, { maxLength: 48 }).map((a) => Uint8Array.from(a));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 48 }), alphabet), (input) => checkDecoders(input)),
      { seed: SEED, numRuns: 10_000 },
    );
  });

  void it('mutated valid encodings (flips, truncation, insertion, deletion): only BencodeError', () => {
    fc.assert(
      fc.property(valueArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (v, ms) => checkDecoders(mutate(encode(v), ms))),
      { seed: SEED, numRuns: 4000 },
    );
  });

  void it('tight limits: only BencodeError', () => {
    const limits = { maxDepth: 3, maxTokens: 12, maxStringLength: 10 };
    fc.assert(
      fc.property(valueArb, fc.array(mutationArb, { maxLength: 2 }), (v, ms) => checkDecoders(mutate(encode(v), ms), limits)),
      { seed: SEED, numRuns: 3000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Torrents

const bases = makeBases();
const baseList = [bases.v1Single, bases.v1, bases.v2, bases.hybrid];

/** Values that sit on the edges of what the parser checks. */
const edgeValueArb: fc.Arbitrary<BencodeValue> = fc.oneof(
  fc.constantFrom<BencodeValue>(
    0,
    1,
    -1,
    16383,
    16384,
    16385,
    32768,
    2 ** 29,
    2 ** 30,
    2 ** 31,
    Number.MAX_SAFE_INTEGER,
    2n ** 53n,
    2n ** 64n,
    Buffer.alloc(0),
    Buffer.alloc(20),
    Buffer.alloc(32),
    Buffer.alloc(39),
    Buffer.from('..'),
    Buffer.from('CON'),
    Buffer.from('a/b'),
    Buffer.from([0xff, 0xfe]),
    [],
    [Buffer.from('x')],
    new Map(),
  ),
  valueArb,
);

type Step = string | number;

/** Every [parent path, child key] in a decoded tree. */
function childPaths(v: BencodeValue, prefix: Step[] = [], out: Step[][] = []): Step[][] {
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push([...prefix, i]);
      childPaths(x, [...prefix, i], out);
    });
  } else if (isDict(v)) {
    for (const [k, x] of v) {
      out.push([...prefix, k]);
      childPaths(x, [...prefix, k], out);
    }
  }
  return out;
}

function at(root: BencodeValue, path: readonly Step[]): BencodeValue {
  let v = root;
  for (const s of path) v = (Array.isArray(v) ? v[s as number] : (v as BencodeDict).get(s as string))!;
  return v;
}

type Edit = { kind: 'replace'; value: BencodeValue } | { kind: 'delete' } | { kind: 'add'; key: string; value: BencodeValue };

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('replace' as const), value: edgeValueArb }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'delete' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('add' as const), key: keyArb, value: edgeValueArb }) },
);

/** Applies an edit to the node at `paths[pick % paths.length]` of a fresh decode of `base`. */
function editTorrent(base: Buffer, pick: number, e: Edit): Buffer {
  const root = decode(Buffer.from(base));
  const paths = childPaths(root);
  const path = paths[pick % paths.length]!;
  const parent = at(root, path.slice(0, -1));
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) {
    const i = last as number;
    if (e.kind === 'replace') parent[i] = e.value;
    else if (e.kind === 'delete') parent.splice(i, 1);
    else parent.splice(i, 0, e.value);
  } else {
    const d = parent as BencodeDict;
    if (e.kind === 'replace') d.set(last as string, e.value);
    else if (e.kind === 'delete') d.delete(last as string);
    else d.set(e.key, e.value);
  }
  return encode(root);
}

void describe('torrent parser properties', () => {
  void it('the valid bases parse (control)', () => {
    for (const b of baseList) checkMetainfo(parseTorrent(b.bytes));
  });

  void it('byte-mutated valid torrents: only BencodeError or MetainfoError', () => {
    fc.assert(
      fc.property(fc.constantFrom(...baseList), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (b, ms) => {
        const input = mutate(b.bytes, ms);
        checkParse(() => parseTorrent(input), input);
      }),
      { seed: SEED, numRuns: 4000 },
    );
  });

  void it('structurally edited valid torrents: only BencodeError or MetainfoError', () => {
    fc.assert(
      fc.property(fc.constantFrom(...baseList), fc.array(fc.tuple(fc.nat(), editArb), { minLength: 1, maxLength: 3 }), (b, edits) => {
        let bytes = b.bytes;
        for (const [pick, e] of edits) bytes = editTorrent(bytes, pick, e);
        checkParse(() => parseTorrent(bytes), bytes);
      }),
      { seed: SEED, numRuns: 4000 },
    );
  });

  void it('edited info dictionaries through parseInfo: only BencodeError or MetainfoError', () => {
    const infos = baseList.map((b) => {
      const root = decode(b.bytes) as BencodeDict;
      return { info: encode(root.get('info')!), layers: root.get('piece layers') };
    });
    fc.assert(
      fc.property(
        fc.constantFrom(...infos),
        fc.tuple(fc.nat(), editArb),
        fc.array(mutationArb, { maxLength: 1 }),
        fc.boolean(),
        (x, [pick, e], ms, withLayers) => {
          const input = mutate(editTorrent(x.info, pick, e), ms);
          checkParse(() => parseInfo(input, withLayers ? x.layers : undefined), input);
        },
      ),
      { seed: SEED, numRuns: 2000 },
    );
  });
});
