/**
 * Wire codecs: every peer message against hand-written bytes from BEP 3 / 5 / 6 / 10 / 52, decoding
 * back, size checks, unknown ids; the handshake's reserved bits; BEP 6's allowed-fast example; the
 * BEP 10 extension handshake, BEP 9 ut_metadata and BEP 11 ut_pex payloads; the metadata fetcher.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  decodeMessage,
  encodeAllowedFast,
  encodeBitfield,
  encodeBlockRef,
  encodeExtended,
  encodeHashMessage,
  encodeHave,
  encodeKeepAlive,
  encodePieceHeader,
  encodePort,
  encodeSimple,
  encodeSuggest,
  MSG,
} from '../../src/wire/messages.js';
import type { HashRequestRef, WireMessage } from '../../src/wire/messages.js';
import { WireProtocolError } from '../../src/wire/errors.js';
import { decodeHandshake, encodeHandshake, HANDSHAKE_LENGTH } from '../../src/wire/handshake.js';
import { allowedFastSet } from '../../src/wire/allowed-fast.js';
import {
  decodeExtHandshake,
  decodeMetadataMessage,
  decodePex,
  encodeExtHandshake,
  encodeMetadataMessage,
  encodePex,
  MAX_METADATA_SIZE,
  MAX_PEX_CONTACTS,
  METADATA_PIECE_SIZE,
} from '../../src/wire/extension.js';
import { MetadataFetcher } from '../../src/torrent/metadata.js';
import { encode } from '../../src/bencode/index.js';
import { ShoalError } from '../../src/util/errors.js';
import { hex, latin1 } from './support/swarm-helpers.js';

/** Decodes a whole frame (length prefix included), checking the prefix matches the body. */
function decodeFrame(frame: Buffer): WireMessage {
  assert.equal(frame.readUInt32BE(0), frame.length - 4, 'length prefix');
  return decodeMessage(frame.subarray(4));
}

function isWireError(e: unknown): boolean {
  assert.ok(e instanceof WireProtocolError, `not a WireProtocolError: ${String(e)}`);
  assert.ok(e instanceof ShoalError);
  assert.equal(e.code, 'ERR_WIRE_PROTOCOL');
  return true;
}

const ROOT = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1));

describe('peer messages: exact bytes (BEP 3, 5, 6, 10, 52)', () => {
  it('keep-alive is four zero bytes and decodes from an empty body', () => {
    assert.deepEqual(encodeKeepAlive(), hex('00000000'));
    assert.deepEqual(decodeMessage(Buffer.alloc(0)), { type: 'keepAlive' });
  });

  it('payload-less messages: choke 0, unchoke 1, interested 2, not interested 3, have all 0x0E, have none 0x0F', () => {
    const cases = [
      ['choke', '00000001 00'],
      ['unchoke', '00000001 01'],
      ['interested', '00000001 02'],
      ['notInterested', '00000001 03'],
      ['haveAll', '00000001 0e'],
      ['haveNone', '00000001 0f'],
    ] as const;
    for (const [type, bytes] of cases) {
      assert.deepEqual(encodeSimple(type), hex(bytes), type);
      assert.deepEqual(decodeFrame(hex(bytes)), { type }, type);
    }
  });

  it('have, suggest and allowed fast carry a 4-byte big-endian index', () => {
    assert.deepEqual(encodeHave(0x01020304), hex('00000005 04 01020304'));
    assert.deepEqual(encodeSuggest(7), hex('00000005 0d 00000007'));
    assert.deepEqual(encodeAllowedFast(1313), hex('00000005 11 00000521'));
    assert.deepEqual(decodeFrame(hex('00000005 04 01020304')), { type: 'have', index: 0x01020304 });
    assert.deepEqual(decodeFrame(hex('00000005 0d 00000007')), { type: 'suggest', index: 7 });
    assert.deepEqual(decodeFrame(hex('00000005 11 00000521')), { type: 'allowedFast', index: 1313 });
    assert.deepEqual(decodeFrame(encodeHave(0xffffffff)), { type: 'have', index: 0xffffffff });
  });

  it('bitfield: the bytes as given, high bit first', () => {
    assert.deepEqual(encodeBitfield(Uint8Array.from([0xff, 0x80])), hex('00000003 05 ff80'));
    const m = decodeFrame(hex('00000003 05 ff80'));
    assert.equal(m.type, 'bitfield');
    assert.deepEqual(m.type === 'bitfield' && m.bits, hex('ff80'));
    // an empty bitfield is a legal frame for the codec
    assert.deepEqual(decodeFrame(hex('00000001 05')), { type: 'bitfield', bits: Buffer.alloc(0) });
  });

  it('request 6, cancel 8 and reject 0x10 are <index><begin><length>, length 13', () => {
    assert.deepEqual(encodeBlockRef('request', 1, 0x4000, 0x4000), hex('0000000d 06 00000001 00004000 00004000'));
    assert.deepEqual(encodeBlockRef('cancel', 2, 0, 0x4000), hex('0000000d 08 00000002 00000000 00004000'));
    assert.deepEqual(encodeBlockRef('reject', 3, 0x8000, 0x100), hex('0000000d 10 00000003 00008000 00000100'));
    assert.deepEqual(decodeFrame(hex('0000000d 06 00000001 00004000 00004000')), { type: 'request', index: 1, begin: 0x4000, length: 0x4000 });
    assert.deepEqual(decodeFrame(hex('0000000d 08 00000002 00000000 00004000')), { type: 'cancel', index: 2, begin: 0, length: 0x4000 });
    assert.deepEqual(decodeFrame(hex('0000000d 10 00000003 00008000 00000100')), { type: 'reject', index: 3, begin: 0x8000, length: 0x100 });
  });

  it('piece 7: a 13-byte header (length 9 + block) then the block, decoded as a view', () => {
    assert.deepEqual(encodePieceHeader(1, 0x4000, 3), hex('0000000c 07 00000001 00004000'));
    const frame = Buffer.alloc(16); // not from the shared pool, so a copy could not share its ArrayBuffer
    Buffer.concat([encodePieceHeader(1, 0x4000, 3), hex('aabbcc')]).copy(frame);
    assert.deepEqual(frame, hex('0000000c 07 00000001 00004000 aabbcc'));
    const m = decodeFrame(frame);
    assert.ok(m.type === 'piece');
    assert.equal(m.index, 1);
    assert.equal(m.begin, 0x4000);
    assert.deepEqual(m.data, hex('aabbcc'));
    assert.equal(m.data.buffer, frame.buffer, 'no copy');
    assert.equal(m.data.byteOffset, frame.byteOffset + 13);
    // a zero-length block is still a well-formed piece message
    assert.deepEqual(decodeFrame(hex('00000009 07 00000000 00000000')), { type: 'piece', index: 0, begin: 0, data: Buffer.alloc(0) });
  });

  it('port 9 (BEP 5) is a 2-byte port', () => {
    assert.deepEqual(encodePort(6881), hex('00000003 09 1ae1'));
    assert.deepEqual(decodeFrame(hex('00000003 09 1ae1')), { type: 'port', port: 6881 });
  });

  it('extended 20 (BEP 10): <extended id><payload>, id 0 is the extension handshake', () => {
    const payload = latin1('d1:md11:ut_metadatai1eee');
    const frame = encodeExtended(0, payload);
    assert.deepEqual(frame, Buffer.concat([hex('0000001a 14 00'), payload]));
    assert.deepEqual(decodeFrame(frame), { type: 'extended', id: 0, payload });
    assert.deepEqual(encodeExtended(3, hex('0102')), hex('00000004 14 03 0102'));
    assert.deepEqual(decodeFrame(hex('00000002 14 05')), { type: 'extended', id: 5, payload: Buffer.alloc(0) });
  });

  it('hash request 21 / hashes 22 / hash reject 23 (BEP 52)', () => {
    const ref: HashRequestRef = { root: ROOT, baseLayer: 2, index: 4, length: 8, proofLayers: 3 };
    const fields = `${ROOT.toString('hex')} 00000002 00000004 00000008 00000003`;
    assert.deepEqual(encodeHashMessage('hashRequest', ref), hex(`00000031 15 ${fields}`));
    assert.deepEqual(encodeHashMessage('hashReject', ref), hex(`00000031 17 ${fields}`));
    const hashes = Buffer.alloc(64, 0x5a);
    assert.deepEqual(encodeHashMessage('hashes', ref, hashes), hex(`00000071 16 ${fields} ${hashes.toString('hex')}`));
    // a hash request never carries hashes, even if some are passed
    assert.deepEqual(encodeHashMessage('hashRequest', ref, hashes), hex(`00000031 15 ${fields}`));

    assert.deepEqual(decodeFrame(hex(`00000031 15 ${fields}`)), { type: 'hashRequest', ...ref });
    assert.deepEqual(decodeFrame(hex(`00000031 17 ${fields}`)), { type: 'hashReject', ...ref });
    assert.deepEqual(decodeFrame(hex(`00000071 16 ${fields} ${hashes.toString('hex')}`)), { type: 'hashes', ...ref, hashes });
  });

  it('the message ids are the ones the BEPs assign', () => {
    assert.deepEqual(MSG, {
      choke: 0,
      unchoke: 1,
      interested: 2,
      notInterested: 3,
      have: 4,
      bitfield: 5,
      request: 6,
      piece: 7,
      cancel: 8,
      port: 9,
      suggest: 13,
      haveAll: 14,
      haveNone: 15,
      reject: 16,
      allowedFast: 17,
      extended: 20,
      hashRequest: 21,
      hashes: 22,
      hashReject: 23,
    });
  });
});

describe('peer messages: refusals and unknown ids', () => {
  it('wrong payload sizes throw WireProtocolError', () => {
    const bad: [string, string][] = [
      ['choke with a byte', '00 00'],
      ['unchoke with a byte', '01 ff'],
      ['interested with 4 bytes', '02 00000000'],
      ['not interested with a byte', '03 00'],
      ['have all with a byte', '0e 00'],
      ['have none with a byte', '0f 00'],
      ['have with 3 bytes', '04 000001'],
      ['have with 5 bytes', '04 0000000100'],
      ['suggest with no index', '0d'],
      ['allowed fast with 2 bytes', '11 0001'],
      ['request with 11 bytes', '06 00000001 00000000 000040'],
      ['request with 13 bytes', '06 00000001 00000000 00004000 00'],
      ['cancel with 8 bytes', '08 00000001 00000000'],
      ['reject with 16 bytes', '10 00000001 00000000 00004000 00000000'],
      ['piece with 7 bytes', '07 00000001 000000'],
      ['piece with no payload', '07'],
      ['port with 1 byte', '09 1a'],
      ['port with 3 bytes', '09 1ae100'],
      ['extended with no id', '14'],
      ['hash request with 47 bytes', `15 ${ROOT.toString('hex')} 00000000 00000000 00000000 000000`],
      ['hash request with 49 bytes', `15 ${ROOT.toString('hex')} 00000000 00000000 00000000 00000000 00`],
      ['hash reject with 49 bytes', `17 ${ROOT.toString('hex')} 00000000 00000000 00000000 00000000 00`],
      ['hashes with too short a header', `16 ${ROOT.toString('hex')}`],
      ['hashes with a partial hash', `16 ${ROOT.toString('hex')} 00000000 00000000 00000000 00000000 ${'ab'.repeat(31)}`],
    ];
    for (const [what, body] of bad) assert.throws(() => decodeMessage(hex(body)), isWireError, what);
  });

  it('unknown ids decode to unknown, whatever their payload', () => {
    for (const id of [10, 11, 12, 18, 19, 24, 99, 255]) {
      assert.deepEqual(decodeMessage(Buffer.from([id])), { type: 'unknown', id }, `id ${id}`);
      assert.deepEqual(decodeMessage(Buffer.from([id, 1, 2, 3])), { type: 'unknown', id }, `id ${id} with payload`);
    }
  });

  it('every encoder round-trips through the decoder (property)', () => {
    const u32 = fc.nat({ max: 0xffffffff });
    const msgArb: fc.Arbitrary<[Buffer, WireMessage]> = fc.oneof(
      fc.constantFrom('choke', 'unchoke', 'interested', 'notInterested', 'haveAll', 'haveNone').map((t) => [encodeSimple(t), { type: t }] as [Buffer, WireMessage]),
      u32.map((i) => [encodeHave(i), { type: 'have', index: i }] as [Buffer, WireMessage]),
      u32.map((i) => [encodeSuggest(i), { type: 'suggest', index: i }] as [Buffer, WireMessage]),
      u32.map((i) => [encodeAllowedFast(i), { type: 'allowedFast', index: i }] as [Buffer, WireMessage]),
      fc.uint8Array({ maxLength: 40 }).map((u) => [encodeBitfield(u), { type: 'bitfield', bits: Buffer.from(u) }] as [Buffer, WireMessage]),
      fc
        .tuple(fc.constantFrom<'request' | 'cancel' | 'reject'>('request', 'cancel', 'reject'), u32, u32, u32)
        .map(([t, index, begin, length]) => [encodeBlockRef(t, index, begin, length), { type: t, index, begin, length }] as [Buffer, WireMessage]),
      fc
        .tuple(u32, u32, fc.uint8Array({ maxLength: 64 }))
        .map(([index, begin, d]) => [Buffer.concat([encodePieceHeader(index, begin, d.length), d]), { type: 'piece', index, begin, data: Buffer.from(d) }] as [Buffer, WireMessage]),
      fc.integer({ min: 0, max: 65535 }).map((p) => [encodePort(p), { type: 'port', port: p }] as [Buffer, WireMessage]),
      fc
        .tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 64 }))
        .map(([id, p]) => [encodeExtended(id, p), { type: 'extended', id, payload: Buffer.from(p) }] as [Buffer, WireMessage]),
      fc
        .tuple(fc.constantFrom<'hashRequest' | 'hashReject' | 'hashes'>('hashRequest', 'hashReject', 'hashes'), fc.uint8Array({ minLength: 32, maxLength: 32 }), u32, u32, u32, u32, fc.nat({ max: 4 }))
        .map(([t, root, baseLayer, index, length, proofLayers, n]) => {
          const ref = { root: Buffer.from(root), baseLayer, index, length, proofLayers };
          const hashes = Buffer.alloc(32 * n, 0x11);
          const msg: WireMessage = t === 'hashes' ? { type: t, ...ref, hashes } : { type: t, ...ref };
          return [encodeHashMessage(t, ref, hashes), msg] as [Buffer, WireMessage];
        }),
    );
    fc.assert(
      fc.property(msgArb, ([frame, msg]) => {
        assert.deepEqual(decodeFrame(frame), msg);
      }),
      { seed: 7, numRuns: 500 },
    );
  });
});

describe('handshake (BEP 3) and reserved bits (BEP 10, 6, 5, 52)', () => {
  const infoHash = Buffer.from('0123456789abcdef0123', 'latin1');
  const peerId = Buffer.from('-SH0001-xxxxxxxxxxxx', 'latin1');

  it('encodes <19>"BitTorrent protocol"<reserved><info-hash><peer id>', () => {
    const b = encodeHandshake({ reserved: { extensions: false, fast: false, dht: false, v2: false }, infoHash, peerId });
    assert.equal(b.length, HANDSHAKE_LENGTH);
    assert.deepEqual(b, Buffer.concat([Buffer.from([19]), latin1('BitTorrent protocol'), Buffer.alloc(8), infoHash, peerId]));
  });

  it('sets extension 0x10 in byte 5 and fast 0x04 / dht 0x01 / v2 0x10 in byte 7', () => {
    const reserved = (r: Partial<{ extensions: boolean; fast: boolean; dht: boolean; v2: boolean }>): Buffer =>
      encodeHandshake({ reserved: { extensions: false, fast: false, dht: false, v2: false, ...r }, infoHash, peerId }).subarray(20, 28);
    assert.deepEqual(reserved({ extensions: true }), hex('0000000000100000'));
    assert.deepEqual(reserved({ fast: true }), hex('0000000000000004'));
    assert.deepEqual(reserved({ dht: true }), hex('0000000000000001'));
    assert.deepEqual(reserved({ v2: true }), hex('0000000000000010'));
    assert.deepEqual(reserved({ extensions: true, fast: true, dht: true, v2: true }), hex('0000000000100015'));
  });

  it('decodes the bits from hand-written bytes and ignores the others', () => {
    const raw = Buffer.concat([Buffer.from([19]), latin1('BitTorrent protocol'), hex('ff00000000100005'), infoHash, peerId]);
    const h = decodeHandshake(raw);
    assert.deepEqual(h.reserved, { extensions: true, fast: true, dht: true, v2: false });
    assert.deepEqual(h.infoHash, infoHash);
    assert.deepEqual(h.peerId, peerId);
    // bits next to ours are not mistaken for them
    const other = Buffer.from(raw);
    other.set(hex('ffffffffffeffffa'), 20);
    assert.deepEqual(decodeHandshake(other).reserved, { extensions: false, fast: false, dht: false, v2: true });
  });

  it('decoded ids are copies, not views of the input', () => {
    const raw = encodeHandshake({ reserved: { extensions: true, fast: true, dht: false, v2: false }, infoHash, peerId });
    const h = decodeHandshake(raw);
    raw.fill(0);
    assert.deepEqual(h.infoHash, infoHash);
    assert.deepEqual(h.peerId, peerId);
  });

  it('round-trips every combination of bits', () => {
    for (let m = 0; m < 16; m++) {
      const reserved = { extensions: (m & 1) !== 0, fast: (m & 2) !== 0, dht: (m & 4) !== 0, v2: (m & 8) !== 0 };
      assert.deepEqual(decodeHandshake(encodeHandshake({ reserved, infoHash, peerId })), { reserved, infoHash, peerId });
    }
  });

  it('refuses short input and other protocols', () => {
    const good = encodeHandshake({ reserved: { extensions: false, fast: false, dht: false, v2: false }, infoHash, peerId });
    assert.throws(() => decodeHandshake(good.subarray(0, 67)), isWireError);
    const badLen = Buffer.from(good);
    badLen[0] = 18;
    assert.throws(() => decodeHandshake(badLen), isWireError);
    const badName = Buffer.from(good);
    badName[1] = 'b'.charCodeAt(0);
    assert.throws(() => decodeHandshake(badName), isWireError);
    assert.throws(() => decodeHandshake(Buffer.concat([latin1('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), Buffer.alloc(40)])), isWireError);
  });
});

describe('allowed fast set (BEP 6)', () => {
  const infoHash = Buffer.alloc(20, 0xaa);

  it("matches the spec's worked example for 80.4.4.200 and 1313 pieces", () => {
    assert.deepEqual(allowedFastSet('80.4.4.200', infoHash, 1313, 7), [1059, 431, 808, 1217, 287, 376, 1188]);
    assert.deepEqual(allowedFastSet('80.4.4.200', infoHash, 1313, 9), [1059, 431, 808, 1217, 287, 376, 1188, 353, 508]);
  });

  it('only the first three octets count; k+1 extends k; distinct indices in range', () => {
    assert.deepEqual(allowedFastSet('80.4.4.1', infoHash, 1313, 9), allowedFastSet('80.4.4.200', infoHash, 1313, 9));
    assert.notDeepEqual(allowedFastSet('80.4.5.200', infoHash, 1313, 9), allowedFastSet('80.4.4.200', infoHash, 1313, 9));
    const ten = allowedFastSet('10.1.2.3', infoHash, 50, 10);
    assert.equal(ten.length, 10);
    assert.equal(new Set(ten).size, 10);
    assert.ok(ten.every((i) => i >= 0 && i < 50));
    for (let k = 1; k < 10; k++) assert.deepEqual(allowedFastSet('10.1.2.3', infoHash, 50, k), ten.slice(0, k));
  });

  it('is capped at the piece count and empty for non-IPv4 addresses', () => {
    assert.deepEqual(allowedFastSet('80.4.4.200', infoHash, 3, 10).sort(), [0, 1, 2]);
    assert.deepEqual(allowedFastSet('::1', infoHash, 1313, 7), []);
    assert.deepEqual(allowedFastSet('1.2.3', infoHash, 1313, 7), []);
    assert.deepEqual(allowedFastSet('1.2.3.256', infoHash, 1313, 7), []);
  });
});

describe('extension handshake (BEP 10)', () => {
  it('encodes the m dictionary and fields with sorted keys', () => {
    const b = encodeExtHandshake({ client: 'shoal 0.1', listenPort: 6881, reqq: 250, metadataSize: 31235 });
    assert.equal(b.toString('latin1'), 'd1:md11:ut_metadatai1e6:ut_pexi2ee13:metadata_sizei31235e1:pi6881e4:reqqi250e1:v9:shoal 0.1e');
    const only = encodeExtHandshake({ client: 'x', extensions: ['ut_metadata'], yourIp: hex('7f000001'), uploadOnly: true });
    assert.equal(only.toString('latin1'), 'd1:md11:ut_metadatai1ee11:upload_onlyi1e1:v1:x6:yourip4:\x7f\x00\x00\x01e');
  });

  it('decodes the spec example', () => {
    const h = decodeExtHandshake(Buffer.concat([latin1('d1:md11:LT_metadatai1e6:ut_pexi2ee1:pi6881e1:v13:'), Buffer.from('µTorrent 1.2', 'utf8'), latin1('e')]));
    assert.deepEqual([...h.m], [
      ['LT_metadata', 1],
      ['ut_pex', 2],
    ]);
    assert.equal(h.listenPort, 6881);
    assert.equal(h.client, 'µTorrent 1.2');
  });

  it('round-trips', () => {
    const h = decodeExtHandshake(encodeExtHandshake({ client: 'c', listenPort: 1, reqq: 5, metadataSize: 100, yourIp: hex('20010db8000000000000000000000001'), uploadOnly: true }));
    assert.deepEqual(h, {
      m: new Map([
        ['ut_metadata', 1],
        ['ut_pex', 2],
      ]),
      client: 'c',
      listenPort: 1,
      reqq: 5,
      metadataSize: 100,
      yourIp: hex('20010db8000000000000000000000001'),
      uploadOnly: true,
    });
  });

  it('ignores fields of the wrong type or range instead of throwing', () => {
    const payload = encode({
      m: { ut_metadata: 'one', ut_pex: 0, big: 256, neg: -1, ok: 3, list: [1] },
      v: 42,
      p: 'x',
      reqq: -5,
      metadata_size: 'big',
      yourip: hex('0102030405'),
      upload_only: 2,
    });
    assert.deepEqual(decodeExtHandshake(payload), { m: new Map([['ok', 3]]) });
    assert.deepEqual(decodeExtHandshake(latin1('d1:mi5e1:pi70000ee')), { m: new Map() });
    assert.deepEqual(decodeExtHandshake(latin1('d13:metadata_sizei0e1:pi0ee')), { m: new Map() });
    assert.deepEqual(decodeExtHandshake(latin1('de')), { m: new Map() });
  });

  it('throws WireProtocolError for a non-dictionary or bad bencode', () => {
    assert.throws(() => decodeExtHandshake(latin1('li1ee')), isWireError);
    assert.throws(() => decodeExtHandshake(latin1('d1:m')), isWireError);
    assert.throws(() => decodeExtHandshake(Buffer.alloc(0)), isWireError);
    assert.throws(() => decodeExtHandshake(latin1('i1e')), isWireError);
  });
});

describe('ut_metadata messages (BEP 9)', () => {
  it('request and reject encode as the spec examples', () => {
    assert.equal(encodeMetadataMessage({ kind: 'request', piece: 0 }).toString('latin1'), 'd8:msg_typei0e5:piecei0ee');
    assert.equal(encodeMetadataMessage({ kind: 'reject', piece: 0 }).toString('latin1'), 'd8:msg_typei2e5:piecei0ee');
    assert.deepEqual(decodeMetadataMessage(latin1('d8:msg_typei0e5:piecei0ee')), { kind: 'request', piece: 0 });
    assert.deepEqual(decodeMetadataMessage(latin1('d8:msg_typei2e5:piecei3ee')), { kind: 'reject', piece: 3 });
  });

  it('data carries the piece after the dictionary, as trailing bytes (a view)', () => {
    const data = Buffer.from('x'.repeat(100));
    const b = encodeMetadataMessage({ kind: 'data', piece: 1, totalSize: 34256, data });
    assert.deepEqual(b, Buffer.concat([latin1('d8:msg_typei1e5:piecei1e10:total_sizei34256ee'), data]));
    const m = decodeMetadataMessage(b);
    assert.ok(m && m.kind === 'data');
    assert.equal(m.piece, 1);
    assert.equal(m.totalSize, 34256);
    assert.deepEqual(m.data, data);
    assert.equal(m.data.buffer, b.buffer);
    assert.equal(m.data.byteOffset, b.byteOffset + b.length - 100);
    // trailing bytes that look like bencode are still just data
    const tricky = decodeMetadataMessage(latin1('d8:msg_typei1e5:piecei0e10:total_sizei8eed1:ai1ee'));
    assert.deepEqual(tricky, { kind: 'data', piece: 0, totalSize: 8, data: latin1('d1:ai1ee') });
  });

  it('ignores unknown msg_type, refuses messages without a piece or total_size', () => {
    assert.equal(decodeMetadataMessage(latin1('d8:msg_typei9e5:piecei0ee')), undefined);
    assert.equal(decodeMetadataMessage(latin1('d5:piecei0ee')), undefined);
    assert.throws(() => decodeMetadataMessage(latin1('d8:msg_typei0ee')), isWireError);
    assert.throws(() => decodeMetadataMessage(latin1('d8:msg_typei0e5:piece1:0e')), isWireError);
    assert.throws(() => decodeMetadataMessage(latin1('d8:msg_typei0e5:piecei-1ee')), isWireError);
    assert.throws(() => decodeMetadataMessage(latin1('d8:msg_typei1e5:piecei0eexx')), isWireError);
    assert.throws(() => decodeMetadataMessage(latin1('d8:msg_typei1e5:piecei0e10:total_sizei0eexx')), isWireError);
    assert.throws(() => decodeMetadataMessage(latin1('li0ee')), isWireError);
    assert.throws(() => decodeMetadataMessage(latin1('d8:msg_type')), isWireError);
  });
});

describe('ut_pex messages (BEP 11)', () => {
  it('encodes IPv4 contacts with flags as compact strings', () => {
    const b = encodePex({ added: [{ host: '127.0.0.1', port: 6881 }], addedFlags: [0x02], dropped: [{ host: '10.0.0.2', port: 80 }] });
    assert.deepEqual(b, Buffer.concat([latin1('d5:added6:'), hex('7f0000011ae1'), latin1('7:added.f1:'), hex('02'), latin1('7:dropped6:'), hex('0a0000020050'), latin1('e')]));
  });

  it('round-trips v4 and v6 contacts, flags aligned with their peers', () => {
    const msg = {
      added: [
        { host: '127.0.0.1', port: 1 },
        { host: '2001:db8::1', port: 2 },
        { host: '127.0.0.2', port: 3 },
      ],
      addedFlags: [0x10, 0x02, 0x12],
      dropped: [
        { host: '127.0.0.9', port: 9 },
        { host: '2001:db8::9', port: 10 },
      ],
    };
    const d = decodePex(encodePex(msg));
    // v4 first, then v6; each flag travels with its peer
    assert.deepEqual(d.added, [
      { host: '127.0.0.1', port: 1 },
      { host: '127.0.0.2', port: 3 },
      { host: '2001:db8::1', port: 2 },
    ]);
    assert.deepEqual(d.addedFlags, [0x10, 0x12, 0x02]);
    assert.deepEqual(d.dropped, msg.dropped);
  });

  it('is tolerant: wrong types, missing flags and ragged compact strings', () => {
    const payload = encode({ added: 5, 'added.f': 'x', added6: hex('00'), dropped: Buffer.concat([hex('7f0000010050'), hex('0102')]) });
    assert.deepEqual(decodePex(payload), { added: [], addedFlags: [], dropped: [{ host: '127.0.0.1', port: 80 }] });
    const noFlags = decodePex(encode({ added: hex('7f0000010050 7f0000020051') }));
    assert.deepEqual(noFlags.addedFlags, [0, 0]);
    assert.deepEqual(decodePex(latin1('de')), { added: [], addedFlags: [], dropped: [] });
    assert.throws(() => decodePex(latin1('le')), isWireError);
    assert.throws(() => decodePex(latin1('d5:added')), isWireError);
  });

  it(`keeps at most ${MAX_PEX_CONTACTS} contacts per list`, () => {
    const many = Buffer.alloc(6 * 300);
    for (let i = 0; i < 300; i++) {
      many.writeUInt32BE(0x7f000000 + i + 1, i * 6);
      many.writeUInt16BE(1000 + i, i * 6 + 4);
    }
    const d = decodePex(encode({ added: many, 'added.f': Buffer.alloc(300, 2), dropped: many }));
    assert.equal(d.added.length, MAX_PEX_CONTACTS);
    assert.equal(d.addedFlags.length, MAX_PEX_CONTACTS);
    assert.equal(d.dropped.length, MAX_PEX_CONTACTS);
  });
});

describe('metadata fetcher (BEP 9 bookkeeping)', () => {
  const info = Buffer.from('d4:name1:x' + 'x'.repeat(40000) + 'e');
  const v1 = createHash('sha1').update(info).digest();
  const piece = (i: number): Buffer => info.subarray(i * METADATA_PIECE_SIZE, (i + 1) * METADATA_PIECE_SIZE);

  it('learns the size once and refuses absurd or conflicting sizes', () => {
    const f = new MetadataFetcher(v1, undefined);
    assert.equal(f.known, false);
    assert.deepEqual(f.next(1, 5, 0), []);
    assert.equal(f.offerSize(0), false);
    assert.equal(f.offerSize(MAX_METADATA_SIZE + 1), false);
    assert.equal(f.offerSize(info.length), true);
    assert.equal(f.offerSize(info.length + 1), false);
    assert.equal(f.known, true);
  });

  it('hands out pieces, re-asks after a timeout, a reject or a departure', () => {
    const f = new MetadataFetcher(v1, undefined);
    f.offerSize(info.length); // 3 pieces
    assert.deepEqual(f.next(1, 2, 0), [0, 1]);
    assert.deepEqual(f.next(2, 5, 0), [2]);
    assert.deepEqual(f.next(3, 5, 9_999), []);
    assert.deepEqual(f.next(3, 5, 10_000), [0, 1, 2]);
    f.rejected(0, 1); // not peer 1's any more: ignored
    assert.deepEqual(f.next(4, 5, 10_001), []);
    f.rejected(0, 3);
    assert.deepEqual(f.next(4, 5, 10_001), [0]);
    f.peerGone(3);
    assert.deepEqual(f.next(5, 5, 10_002), [1, 2]);
  });

  it('assembles and verifies; wrong sizes are ignored', () => {
    const f = new MetadataFetcher(v1, undefined);
    f.offerSize(info.length);
    f.next(1, 3, 0);
    assert.equal(f.receive(0, info.length + 1, piece(0), 1), undefined);
    assert.equal(f.receive(0, info.length, piece(0).subarray(1), 1), undefined);
    assert.equal(f.receive(7, info.length, piece(0), 1), undefined);
    assert.equal(f.receive(0, info.length, piece(0), 1), undefined);
    assert.equal(f.receive(2, info.length, piece(2), 1), undefined);
    assert.deepEqual(f.next(2, 5, 20_000), [1]);
    const done = f.receive(1, info.length, piece(1), 2);
    assert.ok(Buffer.isBuffer(done));
    assert.deepEqual(done, info);
  });

  it('accepts a v2-only hash (SHA-256)', () => {
    const f = new MetadataFetcher(undefined, createHash('sha256').update(info).digest());
    f.offerSize(info.length);
    f.receive(0, info.length, piece(0), 1);
    f.receive(1, info.length, piece(1), 1);
    assert.deepEqual(f.receive(2, info.length, piece(2), 1), info);
  });

  it('a mismatch drops everything and never asks the senders again', () => {
    const f = new MetadataFetcher(v1, undefined);
    f.offerSize(info.length);
    f.next(1, 3, 0);
    f.receive(0, info.length, piece(0), 1);
    f.receive(1, info.length, Buffer.alloc(METADATA_PIECE_SIZE), 1);
    assert.equal(f.receive(2, info.length, piece(2), 1), 'mismatch');
    assert.deepEqual(f.next(1, 5, 0), []);
    assert.deepEqual(f.next(2, 5, 0), [0, 1, 2]);
  });
});
