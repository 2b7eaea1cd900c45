/**
 * Bencode: known vectors, every refusal reason with its exact byte offset, spans and prefixes, and
 * the canonical encoder.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BencodeError, decode, decodePrefix, decodeWithSpans, DEFAULT_DECODE_LIMITS, encode, isDict, keyToUtf8, utf8Key } from '../../src/bencode/index.js';
import type { BencodeErrorReason, BencodeValue, DecodeLimits, Encodable } from '../../src/bencode/index.js';
import { ShoalError } from '../../src/util/errors.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const dec = (s: string | Uint8Array, limits?: DecodeLimits): BencodeValue => decode(typeof s === 'string' ? b(s) : s, limits);
const enc = (v: Encodable): string => encode(v).toString('latin1');

/** Asserts that decoding `input` throws a BencodeError with this reason at this offset. */
function refuses(input: string | Uint8Array, reason: BencodeErrorReason, offset: number, limits?: DecodeLimits): void {
  assert.throws(
    () => dec(input, limits),
    (e: unknown) => {
      assert.ok(e instanceof BencodeError, `not a BencodeError: ${String(e)}`);
      assert.ok(e instanceof ShoalError);
      assert.equal(e.code, 'ERR_BENCODE');
      assert.equal(e.reason, reason, e.message);
      assert.equal(e.offset, offset, e.message);
      assert.ok(e.message.startsWith(`invalid bencode at byte ${offset}: `), e.message);
      return true;
    },
    `${JSON.stringify(typeof input === 'string' ? input : Buffer.from(input).toString('latin1'))} should be refused`,
  );
}

void describe('bencode decode: known vectors', () => {
  void it('integers', () => {
    assert.equal(dec('i0e'), 0);
    assert.equal(dec('i42e'), 42);
    assert.equal(dec('i-42e'), -42);
    assert.equal(dec('i-1e'), -1);
    assert.equal(dec('i999999999999999e'), 999_999_999_999_999); // 15 digits: the fast path
    assert.equal(dec('i1000000000000000e'), 1_000_000_000_000_000); // 16 digits
  });

  void it('integers at and beyond 2^53 become bigint, safe ones stay numbers', () => {
    assert.equal(dec(`i${Number.MAX_SAFE_INTEGER}e`), Number.MAX_SAFE_INTEGER);
    assert.equal(dec(`i${Number.MIN_SAFE_INTEGER}e`), Number.MIN_SAFE_INTEGER);
    assert.equal(dec('i9007199254740992e'), 9007199254740992n); // 2^53 is not a safe integer
    assert.equal(dec('i9007199254740993e'), 9007199254740993n); // would round as a double
    assert.equal(dec('i-9007199254740993e'), -9007199254740993n);
    assert.equal(dec('i18446744073709551616e'), 2n ** 64n);
    assert.equal(dec(`i${'9'.repeat(64)}e`), 10n ** 64n - 1n); // the longest accepted
    assert.equal(dec(`i-${'9'.repeat(64)}e`), -(10n ** 64n - 1n));
  });

  void it('byte strings, empty and binary', () => {
    assert.deepEqual(dec('0:'), Buffer.alloc(0));
    assert.deepEqual(dec('4:spam'), b('spam'));
    assert.deepEqual(dec('3:a:e'), b('a:e'));
    const binary = Buffer.from([0, 0xff, 0x80, 0x0a, 0x3a, 0x65]);
    assert.deepEqual(dec(Buffer.concat([b('6:'), binary])), binary);
    const long = Buffer.alloc(1000, 0x61);
    assert.deepEqual(dec(Buffer.concat([b('1000:'), long])), long);
  });

  void it('byte strings are zero-copy views of the input', () => {
    const input = b('d1:a3:xyze');
    const v = dec(input);
    assert.ok(isDict(v));
    const x = v.get('a') as Buffer;
    input[6] = 0x58; // 'X'
    assert.equal(x.toString(), 'Xyz');
  });

  void it('lists and dictionaries, nested', () => {
    assert.deepEqual(dec('le'), []);
    assert.deepEqual(dec('de'), new Map());
    assert.deepEqual(dec('l4:spami42ee'), [b('spam'), 42]);
    assert.deepEqual(dec('llelleee'), [[], [[]]]);
    assert.deepEqual(
      dec('d3:bar4:spam3:fooi42ee'),
      new Map<string, BencodeValue>([
        ['bar', b('spam')],
        ['foo', 42],
      ]),
    );
    assert.deepEqual(
      dec('d1:ad1:bl1:ci-3edeee1:zlee'),
      new Map<string, BencodeValue>([
        ['a', new Map<string, BencodeValue>([['b', [b('c'), -3, new Map()]]])],
        ['z', []],
      ]),
    );
  });

  void it('dictionary keys are raw bytes as latin1 strings, sorted by bytes', () => {
    // "Z" (0x5a) < "a" (0x61) < 0xc3 0xa9 ("é" in UTF-8) < 0xff
    const input = Buffer.concat([b('d1:Zi1e1:ai2e2:'), Buffer.from('é', 'utf8'), b('i3e1:'), Buffer.from([0xff]), b('i4ee')]);
    const v = dec(input);
    assert.ok(isDict(v));
    assert.deepEqual([...v.keys()], ['Z', 'a', utf8Key('é'), '\xff']);
    assert.equal(keyToUtf8([...v.keys()][2]!), 'é');
    assert.equal(v.get(utf8Key('é')), 3);
    assert.ok(encode(v).equals(input));
  });

  void it('empty key, and a key that is a prefix of the next', () => {
    assert.deepEqual(
      dec('d0:i1e1:ai2e2:aai3ee'),
      new Map<string, BencodeValue>([
        ['', 1],
        ['a', 2],
        ['aa', 3],
      ]),
    );
  });

  void it('accepts any Uint8Array view, offsets included', () => {
    const backing = new Uint8Array(b('xxi7eyy'));
    assert.equal(dec(backing.subarray(2, 5)), 7);
    refuses(backing.subarray(2, 6), 'trailing-bytes', 3);
  });
});

void describe('bencode decode: refusals and their offsets', () => {
  void it('leading zeros', () => {
    refuses('i03e', 'non-canonical-integer', 0);
    refuses('i00e', 'non-canonical-integer', 0);
    refuses('i-03e', 'non-canonical-integer', 0);
    refuses('l4:spami007ee', 'non-canonical-integer', 7);
    refuses('03:abc', 'non-canonical-integer', 0);
    refuses('00:', 'non-canonical-integer', 0);
    refuses('l1:a03:abce', 'non-canonical-integer', 4);
    refuses('d01:ai1ee', 'non-canonical-integer', 1); // in a key
  });

  void it('negative zero', () => {
    refuses('i-0e', 'non-canonical-integer', 0);
    refuses('li1ei-0ee', 'non-canonical-integer', 4);
  });

  void it('integers without digits', () => {
    refuses('ie', 'non-canonical-integer', 0);
    refuses('i-e', 'non-canonical-integer', 0);
    refuses('li1eiee', 'non-canonical-integer', 4);
  });

  void it('malformed integers', () => {
    refuses('i--1e', 'unexpected-byte', 2);
    refuses('i1-e', 'unexpected-byte', 2);
    refuses('i+1e', 'unexpected-byte', 1);
    refuses('i1.5e', 'unexpected-byte', 2);
    refuses('i 1e', 'unexpected-byte', 1);
    refuses('i1x', 'unexpected-byte', 2);
  });

  void it('integers over 64 digits', () => {
    refuses(`i${'9'.repeat(65)}e`, 'integer-too-large', 0);
    refuses(`li1ei-${'1'.repeat(65)}ee`, 'integer-too-large', 4);
  });

  void it('unsorted keys, at the offending key', () => {
    refuses('d1:bi1e1:ai2ee', 'unsorted-keys', 7);
    refuses('d2:aai1e1:ai2ee', 'unsorted-keys', 8); // "a" sorts before "aa"
    refuses('d1:ad1:ci1e1:bi2eee', 'unsorted-keys', 11); // nested
    // Raw byte order, not UTF-16 or locale order: 0xff after "a".
    refuses(Buffer.concat([b('d1:'), Buffer.from([0xff]), b('i1e1:ai2ee')]), 'unsorted-keys', 7);
  });

  void it('duplicate keys, at the second one', () => {
    refuses('d1:ai1e1:ai2ee', 'duplicate-key', 7);
    refuses('d1:ai1e1:bi2e1:bi3ee', 'duplicate-key', 13);
    refuses('d0:i1e0:i2ee', 'duplicate-key', 6);
  });

  void it('non-string keys', () => {
    refuses('di1ei2ee', 'unexpected-byte', 1);
    refuses('dlei2ee', 'unexpected-byte', 1);
    refuses('d1:ai1edei2ee', 'unexpected-byte', 7);
  });

  void it('bytes that start no value', () => {
    refuses('x', 'unexpected-byte', 0);
    refuses('-1:a', 'unexpected-byte', 0);
    refuses('e', 'unexpected-byte', 0);
    refuses('l1:ax', 'unexpected-byte', 4);
    refuses('3-abc', 'unexpected-byte', 1); // a length must be followed by ":"
  });

  void it('truncation everywhere', () => {
    refuses('', 'unexpected-end', 0);
    refuses('i', 'unexpected-end', 1);
    refuses('i-', 'unexpected-end', 2);
    refuses('i12', 'unexpected-end', 3);
    refuses('1', 'unexpected-end', 1);
    refuses('12', 'unexpected-end', 2);
    refuses('l', 'unexpected-end', 1);
    refuses('l1:a', 'unexpected-end', 4);
    refuses('lli1ee', 'unexpected-end', 6);
    refuses('d', 'unexpected-end', 1);
    refuses('d1:a', 'unexpected-end', 4); // a key without a value
    refuses('d1:ai1e', 'unexpected-end', 7);
    refuses('d1', 'unexpected-end', 2);
    // Every proper prefix of a valid encoding is refused as truncated, never accepted.
    const full = 'd4:infod6:lengthi5e4:name3:abce4:listl0:i-7eee';
    assert.ok(isDict(dec(full)));
    for (let n = 0; n < full.length; n++) {
      assert.throws(
        () => dec(full.slice(0, n)),
        (e: unknown) => e instanceof BencodeError && e.reason === 'unexpected-end' && e.offset <= n,
        `prefix of ${n} bytes`,
      );
    }
  });

  void it('a string running past the end, at its length', () => {
    refuses('1:', 'unexpected-end', 0);
    refuses('5:abcd', 'unexpected-end', 0);
    refuses('l3:abc10:abce', 'unexpected-end', 6);
    refuses('d3:abc5:abce', 'unexpected-end', 6);
    refuses('d10:abce', 'unexpected-end', 1); // a key too
    refuses('99:x', 'unexpected-end', 0);
    refuses('999999:x', 'unexpected-end', 0); // under the length limit, far past the end
  });

  void it('trailing bytes after the root value', () => {
    refuses('i1ex', 'trailing-bytes', 3);
    refuses('i1ei2e', 'trailing-bytes', 3);
    refuses('lee', 'trailing-bytes', 2);
    refuses('de\n', 'trailing-bytes', 2);
    refuses('4:spam\0', 'trailing-bytes', 6);
  });

  void it('depth limit, at the first container too deep', () => {
    refuses('llle', 'too-deep', 2, { maxDepth: 2 });
    assert.deepEqual(dec('llee', { maxDepth: 2 }), [[]]);
    refuses('d1:ad1:ad1:aleeee', 'too-deep', 12, { maxDepth: 3 });
    assert.deepEqual(dec('li1ee', { maxDepth: 1 }), [1]); // scalars do not count as nesting
    refuses('le', 'too-deep', 0, { maxDepth: 0 });
    assert.equal(dec('i1e', { maxDepth: 0 }), 1);
    // The default: 100 levels are fine, 101 are not.
    assert.equal(DEFAULT_DECODE_LIMITS.maxDepth, 100);
    assert.ok(Array.isArray(dec('l'.repeat(100) + 'e'.repeat(100))));
    refuses('l'.repeat(101) + 'e'.repeat(101), 'too-deep', 100);
    // Far deeper than any stack: still a BencodeError, not a RangeError.
    refuses('l'.repeat(200_000), 'too-deep', 100);
  });

  void it('token limit, counting values and keys', () => {
    refuses('lli1eee', 'too-many-tokens', 2, { maxTokens: 2 });
    assert.deepEqual(dec('lli1eee', { maxTokens: 3 }), [[1]]);
    refuses('d1:ai1ee', 'too-many-tokens', 4, { maxTokens: 2 }); // dict, key, value
    refuses('d1:ai1ee', 'too-many-tokens', 1, { maxTokens: 1 }); // the key itself is a token
    assert.ok(isDict(dec('d1:ai1ee', { maxTokens: 3 })));
    refuses('l' + 'i0e'.repeat(10) + 'e', 'too-many-tokens', 1 + 9 * 3, { maxTokens: 10 });
  });

  void it('string-length limit, at the length', () => {
    refuses('5:abcde', 'string-too-long', 0, { maxStringLength: 4 });
    assert.deepEqual(dec('4:abcd', { maxStringLength: 4 }), b('abcd'));
    refuses('d5:abcdei1ee', 'string-too-long', 1, { maxStringLength: 4 }); // keys too
    refuses('l1:a5:abcdee', 'string-too-long', 4, { maxStringLength: 4 });
    // A length with more than 12 digits is refused before it is even compared.
    refuses('1234567890123:x', 'string-too-long', 0);
    refuses('li1e0000000000000:e', 'string-too-long', 4);
    // The default limit (256 MiB) is checked before the end of the buffer.
    refuses(`${DEFAULT_DECODE_LIMITS.maxStringLength + 1}:x`, 'string-too-long', 0);
  });

  void it('the first problem wins: a duplicate key before a truncation', () => {
    refuses('d1:ai1e1:ae', 'duplicate-key', 7);
  });

  void it('errors are typed ShoalErrors with the offset in the message', () => {
    try {
      dec('d1:bi1e1:ai2ee');
      assert.fail('should throw');
    } catch (e) {
      assert.ok(e instanceof BencodeError);
      assert.equal(e.name, 'BencodeError');
      assert.equal(e.message, 'invalid bencode at byte 7: dictionary key "a" is out of order');
    }
  });
});

void describe('decodeWithSpans', () => {
  void it('gives the exact span of each root value, info included', () => {
    const info = 'd6:lengthi5e4:name3:abce';
    const input = `d8:announce3:url4:info${info}5:otherli1eee`;
    const { value, spans } = decodeWithSpans(b(input));
    assert.ok(isDict(value));
    const span = spans.get('info')!;
    assert.deepEqual(span, { start: 22, end: 22 + info.length });
    assert.equal(input.slice(span.start, span.end), info);
    assert.deepEqual(spans.get('announce'), { start: 11, end: 16 });
    assert.equal(input.slice(spans.get('other')!.start, spans.get('other')!.end), 'li1ee');
    assert.deepEqual([...spans.keys()], ['announce', 'info', 'other']);
  });

  void it('records root keys only, not nested ones', () => {
    const { spans } = decodeWithSpans(b('d1:ad1:bi1eee'));
    assert.deepEqual([...spans.keys()], ['a']);
    assert.deepEqual(spans.get('a'), { start: 4, end: 12 });
  });

  void it('a non-dictionary root has no spans', () => {
    assert.equal(decodeWithSpans(b('ld1:ai1eee')).spans.size, 0);
    assert.equal(decodeWithSpans(b('i1e')).spans.size, 0);
  });

  void it('the info span is the original bytes, not a re-encoding', () => {
    const input = b('d4:infod1:ai1e1:bi2eee');
    const { spans } = decodeWithSpans(input);
    const span = spans.get('info')!;
    assert.equal(input.subarray(span.start, span.end).toString('latin1'), 'd1:ai1e1:bi2ee');
  });

  void it('refuses what decode refuses, with the same offsets', () => {
    assert.throws(() => decodeWithSpans(b('d4:infodei1e')), (e: unknown) => e instanceof BencodeError && e.reason === 'unexpected-byte' && e.offset === 9);
    assert.throws(() => decodeWithSpans(b('d4:infodeex')), (e: unknown) => e instanceof BencodeError && e.reason === 'trailing-bytes' && e.offset === 10);
    assert.throws(() => decodeWithSpans(b('llle'), { maxDepth: 2 }), (e: unknown) => e instanceof BencodeError && e.reason === 'too-deep' && e.offset === 2);
  });
});

void describe('decodePrefix', () => {
  void it('returns the value and where it ended, leaving the rest alone', () => {
    const input = b('d8:msg_typei1e5:piecei0eeRAWBYTES');
    const { value, end } = decodePrefix(input);
    assert.equal(end, input.indexOf('RAW'));
    assert.deepEqual(
      value,
      new Map<string, BencodeValue>([
        ['msg_type', 1],
        ['piece', 0],
      ]),
    );
  });

  void it('starts at an offset and reports absolute offsets', () => {
    const input = b('xxxi42ei7e');
    assert.deepEqual(decodePrefix(input, 3), { value: 42, end: 7 });
    assert.deepEqual(decodePrefix(input, 7), { value: 7, end: 10 });
    assert.deepEqual(decodePrefix(b('4:spam'), 0), { value: b('spam'), end: 6 });
    assert.throws(() => decodePrefix(input, 0), (e: unknown) => e instanceof BencodeError && e.reason === 'unexpected-byte' && e.offset === 0);
    assert.throws(() => decodePrefix(b('xxi03e'), 2), (e: unknown) => e instanceof BencodeError && e.reason === 'non-canonical-integer' && e.offset === 2);
    assert.throws(() => decodePrefix(b('xxl'), 2), (e: unknown) => e instanceof BencodeError && e.reason === 'unexpected-end' && e.offset === 3);
    assert.throws(() => decodePrefix(b('i1e'), 3), (e: unknown) => e instanceof BencodeError && e.reason === 'unexpected-end' && e.offset === 3);
  });

  void it('a start at or past the end is an unexpected end', () => {
    assert.throws(() => decodePrefix(b('i1e'), 10), (e: unknown) => e instanceof BencodeError && e.reason === 'unexpected-end' && e.offset === 10);
  });

  void it('a start that is not an index into the buffer throws a typed error', () => {
    for (const start of [-1, 1.5, NaN]) {
      assert.throws(() => decodePrefix(b('i1e'), start), (e: unknown) => e instanceof ShoalError, `start ${start}`);
    }
  });

  void it('honours limits', () => {
    assert.throws(() => decodePrefix(b('lllee'), 0, { maxDepth: 2 }), (e: unknown) => e instanceof BencodeError && e.reason === 'too-deep' && e.offset === 2);
  });
});

void describe('bencode encode', () => {
  void it('known vectors', () => {
    assert.equal(enc(0), 'i0e');
    assert.equal(enc(-0), 'i0e');
    assert.equal(enc(42), 'i42e');
    assert.equal(enc(-42), 'i-42e');
    assert.equal(enc(Number.MAX_SAFE_INTEGER), 'i9007199254740991e');
    assert.equal(enc(2n ** 64n), 'i18446744073709551616e');
    assert.equal(enc(-(2n ** 64n)), 'i-18446744073709551616e');
    assert.equal(enc(''), '0:');
    assert.equal(enc('spam'), '4:spam');
    assert.equal(enc('é'), '2:\xc3\xa9'); // strings are UTF-8
    assert.equal(enc(Buffer.from([0, 0xff])), '2:\x00\xff');
    assert.equal(enc([]), 'le');
    assert.equal(enc({}), 'de');
    assert.equal(enc(new Map()), 'de');
    assert.equal(enc(['spam', 42, [[]], { a: 1 }]), 'l4:spami42elleed1:ai1eee');
  });

  void it('encodes a Uint8Array view exactly (offset and length honoured)', () => {
    const backing = new Uint8Array([1, 2, 3, 4, 5]);
    assert.ok(encode(backing.subarray(1, 3)).equals(Buffer.from([0x32, 0x3a, 2, 3])));
  });

  void it('sorts object keys by their UTF-8 bytes', () => {
    assert.equal(enc({ b: 1, a: 2, B: 3 }), 'd1:Bi3e1:ai2e1:bi1ee');
    // "é" is 0xc3 0xa9 in UTF-8: after "z" (0x7a), though before it in no other useful order.
    assert.equal(enc({ é: 1, z: 2, a: 3 }), 'd1:ai3e1:zi2e2:\xc3\xa9i1ee');
    // By bytes, not UTF-16 code units: U+FF61 (ef bd a1) sorts before U+1F600 (f0 9f 98 80),
    // although its UTF-16 code unit 0xff61 is greater than the surrogate 0xd83d.
    const out = encode({ '\u{1F600}': 1, '\uff61': 2 });
    assert.ok(out.equals(Buffer.concat([b('d3:'), Buffer.from('\uff61'), b('i2e4:'), Buffer.from('\u{1F600}'), b('i1ee')])));
    // "a" is a prefix of "ab": shorter first.
    assert.equal(enc({ ab: 1, a: 2 }), 'd1:ai2e2:abi1ee');
  });

  void it('sorts Map keys as latin1 bytes (the decoder\'s key form)', () => {
    const m = new Map<string, Encodable>([
      ['\xff', 1],
      ['a', 2],
      ['\xe9', 3],
      ['Z', 4],
    ]);
    assert.equal(enc(m), 'd1:Zi4e1:ai2e1:\xe9i3e1:\xffi1ee');
    // A key from utf8Key() round-trips as UTF-8 bytes.
    assert.ok(encode(new Map([[utf8Key('é'), 1]])).equals(Buffer.concat([b('d2:'), Buffer.from('é'), b('i1ee')])));
  });

  void it('omits undefined values in objects', () => {
    assert.equal(enc({ a: 1, b: undefined, c: 'x' }), 'd1:ai1e1:c1:xe');
    assert.equal(enc({ only: undefined }), 'de');
  });

  void it('refuses non-integers, booleans and other non-bencode values', () => {
    const refused: unknown[] = [1.5, -0.1, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53), true, false, null, undefined, Symbol('s'), () => 1];
    for (const v of refused) {
      assert.throws(
        () => encode(v as Encodable),
        (e: unknown) => e instanceof BencodeError && e.reason === 'unencodable',
        `${String(v)} should be refused`,
      );
      assert.throws(() => encode([v] as Encodable), (e: unknown) => e instanceof BencodeError && e.reason === 'unencodable');
      // (undefined is the one exception there: an object property set to undefined is left out.)
      if (v !== undefined) assert.throws(() => encode({ k: v } as unknown as Encodable), (e: unknown) => e instanceof BencodeError && e.reason === 'unencodable');
    }
  });

  void it('refuses keys that collide once converted to bytes', () => {
    // Map keys are latin1: a character above 0xff keeps only its low byte, so "\u0161" is "a".
    assert.throws(
      () => encode(new Map<string, Encodable>([['\u0161', 1], ['\u0061', 2]])),
      (e: unknown) => e instanceof BencodeError && e.reason === 'unencodable' && /duplicate dictionary key/.test(e.message),
    );
  });

  void it('refuses cycles and absurd nesting with a BencodeError, not a stack overflow', () => {
    const cyclic: Encodable[] = [];
    cyclic.push(cyclic);
    assert.throws(() => encode(cyclic), (e: unknown) => e instanceof BencodeError && e.reason === 'unencodable');
  });

  void it('encode(decode(x)) gives back x for canonical input', () => {
    const inputs = ['i0e', 'i-1e', 'i18446744073709551616e', '0:', 'le', 'de', 'd1:ad1:bl1:ci-3edeee1:zlee', 'd0:i1e1:ai2e2:aai3ee'];
    for (const s of inputs) assert.equal(encode(dec(s)).toString('latin1'), s);
  });
});
