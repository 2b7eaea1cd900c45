/**
 * The pure PeerSession state machine: two sessions wired together, any chunking of the input giving
 * the same events, the protocol rules it enforces (frame limit, fast / extension bits, state message
 * order, info-hash, self-connection), timeouts and keep-alives on a fake `now`, silence after a
 * disconnect, and zero-copy piece payloads.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_MAX_FRAME, PeerSession } from '../../src/peer/session.js';
import type { DisconnectCode, PeerSessionEvent } from '../../src/peer/session.js';
import { encodeHandshake } from '../../src/wire/handshake.js';
import type { Reserved } from '../../src/wire/handshake.js';
import {
  encodeAllowedFast,
  encodeBitfield,
  encodeBlockRef,
  encodeExtended,
  encodeHave,
  encodeKeepAlive,
  encodePieceHeader,
  encodeSimple,
  encodeSuggest,
} from '../../src/wire/messages.js';
import type { HashRequestRef } from '../../src/wire/messages.js';
import { encodeExtHandshake } from '../../src/wire/extension.js';
import {
  ALL_BITS,
  ID_A,
  ID_B,
  INFO_HASH,
  NO_BITS,
  OTHER_HASH,
  bufferedBytes,
  events,
  hex,
  incoming,
  openPair,
  outgoing,
  pump,
  seededRng,
  splitAt,
} from './support/swarm-helpers.js';

const handshakeOf = (reserved: Reserved, infoHash = INFO_HASH, peerId = ID_A): Buffer => encodeHandshake({ reserved, infoHash, peerId });

function onlyDisconnect(evs: PeerSessionEvent[], code: DisconnectCode): void {
  const last = evs.at(-1);
  assert.ok(last && last.type === 'disconnect', `expected a disconnect, got ${JSON.stringify(evs.map((e) => e.type))}`);
  assert.equal(last.code, code, last.reason);
  assert.equal(evs.filter((e) => e.type === 'disconnect').length, 1);
}

/** A session that has received `hs` (our side's bits given) and had its events drained. */
function afterHandshake(ours: Reserved, theirs: Reserved): PeerSession {
  const s = incoming({ reserved: ours });
  s.handleBytes(handshakeOf(theirs), 0);
  const evs = events(s);
  assert.equal(evs.length, 1);
  assert.equal(evs[0]!.type, 'handshake');
  s.drainTransmit();
  return s;
}

const ROOT = Buffer.alloc(32, 0x42);
const HASH_REF: HashRequestRef = { root: ROOT, baseLayer: 0, index: 0, length: 2, proofLayers: 1 };

/**
 * Everything an outgoing, fully-featured peer sends in a session: its handshake and one of each
 * message, recorded by driving a real outgoing session against an incoming one.
 */
function recordStream(): { stream: Buffer; frames: Buffer[] } {
  const a = outgoing();
  const hs = Buffer.concat(a.drainTransmit());
  const b = incoming();
  b.handleBytes(hs, 0);
  pump(b, a, 0);
  assert.ok(a.isOpen && a.fast && a.extensions);
  const frames: Buffer[] = [hs];
  const take = (): void => {
    frames.push(Buffer.concat(a.drainTransmit()));
  };
  a.sendBitfield(Uint8Array.from([0xa0, 0x00]), false, false, 1);
  take();
  a.sendHave(3, 1);
  take();
  a.sendInterested(1);
  take();
  a.sendUnchoke(1);
  take();
  a.sendRequest(1, 0x4000, 0x4000, 1);
  take();
  const block = Buffer.alloc(20_000);
  for (let i = 0; i < block.length; i++) block[i] = (i * 7) & 0xff;
  a.sendPiece(0, 0, block, 1);
  take();
  a.sendCancel(1, 0x4000, 0x4000, 1);
  take();
  a.sendReject(2, 0, 0x4000, 1);
  take();
  a.sendAllowedFast(5, 1);
  take();
  a.sendPort(6881, 1);
  take();
  a.sendExtended(0, encodeExtHandshake({ client: 'test' }), 1);
  take();
  a.sendHashMessage('hashRequest', HASH_REF, 1);
  take();
  frames.push(encodeKeepAlive(), encodeSuggest(4), hex('00000003 63 0102'));
  a.sendChoke(1);
  take();
  a.sendNotInterested(1);
  take();
  return { stream: Buffer.concat(frames), frames };
}

function expectedEvents(): PeerSessionEvent[] {
  const block = Buffer.alloc(20_000);
  for (let i = 0; i < block.length; i++) block[i] = (i * 7) & 0xff;
  return [
    { type: 'handshake', infoHash: INFO_HASH, peerId: ID_A, reserved: ALL_BITS },
    { type: 'message', msg: { type: 'bitfield', bits: hex('a000') } },
    { type: 'message', msg: { type: 'have', index: 3 } },
    { type: 'message', msg: { type: 'interested' } },
    { type: 'message', msg: { type: 'unchoke' } },
    { type: 'message', msg: { type: 'request', index: 1, begin: 0x4000, length: 0x4000 } },
    { type: 'message', msg: { type: 'piece', index: 0, begin: 0, data: block } },
    { type: 'message', msg: { type: 'cancel', index: 1, begin: 0x4000, length: 0x4000 } },
    { type: 'message', msg: { type: 'reject', index: 2, begin: 0, length: 0x4000 } },
    { type: 'message', msg: { type: 'allowedFast', index: 5 } },
    { type: 'message', msg: { type: 'port', port: 6881 } },
    { type: 'message', msg: { type: 'extended', id: 0, payload: encodeExtHandshake({ client: 'test' }) } },
    { type: 'message', msg: { type: 'hashRequest', ...HASH_REF } },
    { type: 'message', msg: { type: 'suggest', index: 4 } },
    { type: 'message', msg: { type: 'unknown', id: 0x63 } },
    { type: 'message', msg: { type: 'choke' } },
    { type: 'message', msg: { type: 'notInterested' } },
  ];
}

/** Feeds chunks to a fresh incoming session; returns its events and what it transmitted. */
function feed(chunks: readonly Buffer[]): { evs: PeerSessionEvent[]; sent: Buffer } {
  const s = incoming();
  const evs: PeerSessionEvent[] = [];
  const sent: Buffer[] = [];
  for (const c of chunks) {
    s.handleBytes(c, 0);
    evs.push(...events(s));
    sent.push(...s.drainTransmit());
  }
  return { evs, sent: Buffer.concat(sent) };
}

describe('PeerSession: two sessions talking', () => {
  it('exchange handshakes: the outgoing one speaks first, the incoming one answers', () => {
    const a = outgoing();
    const b = incoming();
    const hsA = Buffer.concat(a.drainTransmit());
    assert.deepEqual(hsA, handshakeOf(ALL_BITS));
    assert.equal(b.pollTransmit(), undefined, 'incoming waits for the peer');
    b.handleBytes(hsA, 0);
    assert.deepEqual(events(b), [{ type: 'handshake', infoHash: INFO_HASH, peerId: ID_A, reserved: ALL_BITS }]);
    const hsB = Buffer.concat(b.drainTransmit());
    assert.deepEqual(hsB, handshakeOf(ALL_BITS, INFO_HASH, ID_B));
    assert.equal(a.isOpen, false);
    a.handleBytes(hsB, 0);
    assert.deepEqual(events(a), [{ type: 'handshake', infoHash: INFO_HASH, peerId: ID_B, reserved: ALL_BITS }]);
    assert.ok(a.isOpen && b.isOpen);
    assert.deepEqual(a.remotePeerId, ID_B);
    assert.deepEqual(b.remotePeerId, ID_A);
    assert.ok(a.fast && a.extensions && b.fast && b.extensions);
    assert.equal(a.bytesSent, 68);
    assert.equal(a.bytesReceived, 68);
  });

  it('answers an accepted info-hash with the hash accept() returns', () => {
    const ours = Buffer.alloc(20, 0x77);
    const b = incoming({ accept: (h) => (h.equals(OTHER_HASH) ? ours : undefined) });
    b.handleBytes(handshakeOf(NO_BITS, OTHER_HASH), 0);
    assert.equal(events(b)[0]!.type, 'handshake');
    assert.deepEqual(Buffer.concat(b.drainTransmit()).subarray(28, 48), ours);
  });

  it('carries messages both ways', () => {
    const { a, b } = openPair();
    a.sendInterested(1);
    a.sendRequest(0, 0, 16384, 1);
    pump(a, b, 1);
    assert.deepEqual(events(b), [
      { type: 'message', msg: { type: 'interested' } },
      { type: 'message', msg: { type: 'request', index: 0, begin: 0, length: 16384 } },
    ]);
    b.sendUnchoke(2);
    b.sendPiece(0, 0, Buffer.from('hello'), 2);
    b.sendHave(7, 2);
    pump(b, a, 2);
    assert.deepEqual(events(a), [
      { type: 'message', msg: { type: 'unchoke' } },
      { type: 'message', msg: { type: 'piece', index: 0, begin: 0, data: Buffer.from('hello') } },
      { type: 'message', msg: { type: 'have', index: 7 } },
    ]);
  });

  it('gives identical events however the bytes are chunked', () => {
    const { stream, frames } = recordStream();
    const whole = feed([stream]);
    assert.deepEqual(whole.evs, expectedEvents());
    assert.deepEqual(whole.sent, handshakeOf(ALL_BITS, INFO_HASH, ID_B));

    const oneByte = feed(Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1)));
    assert.deepEqual(oneByte.evs, whole.evs);
    assert.deepEqual(oneByte.sent, whole.sent);

    assert.deepEqual(feed(frames).evs, whole.evs, 'frame by frame');

    for (let seed = 1; seed <= 20; seed++) {
      const rng = seededRng(seed);
      const cuts = Array.from({ length: 1 + Math.floor(rng() * 40) }, () => Math.floor(rng() * stream.length));
      const r = feed(splitAt(stream, cuts));
      assert.deepEqual(r.evs, whole.evs, `seed ${seed}`);
      assert.deepEqual(r.sent, whole.sent, `seed ${seed}`);
    }
  });

  it('gives identical events for arbitrary chunkings (property)', () => {
    const { stream } = recordStream();
    const whole = feed([stream]).evs;
    fc.assert(
      fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 60 }), (cuts) => {
        assert.deepEqual(feed(splitAt(stream, cuts)).evs, whole);
      }),
      { seed: 11, numRuns: 150 },
    );
  });

  it('chunks that end mid-length-prefix and mid-handshake are handled', () => {
    const { stream } = recordStream();
    // split in the handshake, then at offsets 1..3 inside the first frame's length prefix
    for (const cut of [1, 19, 20, 27, 67, 69, 70, 71]) {
      assert.deepEqual(feed(splitAt(stream, [cut, cut + 2])).evs, expectedEvents(), `cut ${cut}`);
    }
  });
});

describe('PeerSession: protocol rules', () => {
  it(`frames over maxFrameBytes disconnect with frame-too-large, as soon as the length is known`, () => {
    const s = afterHandshake(ALL_BITS, ALL_BITS);
    const big = new PeerSession({ role: 'incoming', peerId: ID_B, reserved: ALL_BITS, accept: () => INFO_HASH, maxFrameBytes: 100 }, 0);
    big.handleBytes(handshakeOf(ALL_BITS), 0);
    events(big);
    // exactly the limit is fine
    big.handleBytes(Buffer.concat([encodePieceHeader(0, 0, 91), Buffer.alloc(91)]), 0);
    assert.equal(events(big)[0]!.type, 'message');
    big.handleBytes(hex('00000065'), 0); // 101: only the prefix has arrived
    onlyDisconnect(events(big), 'frame-too-large');
    assert.ok(big.closed);

    s.handleBytes(hex('ffffffff'), 0);
    onlyDisconnect(events(s), 'frame-too-large');
    const d = afterHandshake(ALL_BITS, ALL_BITS);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(DEFAULT_MAX_FRAME + 1);
    d.handleBytes(len, 0);
    onlyDisconnect(events(d), 'frame-too-large');
  });

  it('fast-extension messages without both bits disconnect with protocol', () => {
    const frames = {
      haveAll: encodeSimple('haveAll'),
      haveNone: encodeSimple('haveNone'),
      suggest: encodeSuggest(1),
      reject: encodeBlockRef('reject', 0, 0, 16384),
      allowedFast: encodeAllowedFast(1),
    };
    for (const [name, frame] of Object.entries(frames)) {
      for (const [ours, theirs] of [
        [NO_BITS, ALL_BITS],
        [ALL_BITS, NO_BITS],
        [{ ...ALL_BITS, fast: false }, ALL_BITS],
      ] as const) {
        const s = afterHandshake(ours, theirs);
        assert.equal(s.fast, false);
        s.handleBytes(frame, 0);
        onlyDisconnect(events(s), 'protocol');
      }
      // with both bits it is fine
      const ok = afterHandshake(ALL_BITS, ALL_BITS);
      ok.handleBytes(frame, 0);
      assert.deepEqual(events(ok).map((e) => e.type), ['message'], name);
    }
  });

  it('extended messages without both extension bits disconnect with protocol', () => {
    for (const [ours, theirs] of [
      [NO_BITS, ALL_BITS],
      [ALL_BITS, { ...ALL_BITS, extensions: false }],
    ] as const) {
      const s = afterHandshake(ours, theirs);
      assert.equal(s.extensions, false);
      s.handleBytes(encodeExtended(0, Buffer.from('de')), 0);
      onlyDisconnect(events(s), 'protocol');
    }
  });

  it('a late bitfield or have-all is taken as the peer\'s new piece set (aria2 sends them), not a violation', () => {
    const cases: [string, Buffer[]][] = [
      ['bitfield after have-none (aria2)', [encodeSimple('haveNone'), encodeBitfield(hex('20'))]],
      ['bitfield after have', [encodeHave(1), encodeBitfield(hex('ff'))]],
      ['bitfield twice', [encodeBitfield(hex('ff')), encodeBitfield(hex('ff'))]],
      ['have all after bitfield', [encodeBitfield(hex('ff')), encodeSimple('haveAll')]],
    ];
    for (const [what, frames] of cases) {
      const s = afterHandshake(ALL_BITS, ALL_BITS);
      s.handleBytes(Buffer.concat(frames), 0);
      const evs = events(s);
      assert.equal(evs.length, 2, what);
      assert.ok(evs.every((e) => e.type === 'message'), what);
      assert.equal(s.closed, false, what);
    }
  });

  it('have-all or have-none without the fast extension still disconnects', () => {
    const s = afterHandshake({ ...ALL_BITS, fast: false }, ALL_BITS);
    s.handleBytes(encodeSimple('haveAll'), 0);
    onlyDisconnect(events(s), 'protocol');
  });

  it('a malformed message disconnects with protocol', () => {
    const s = afterHandshake(ALL_BITS, ALL_BITS);
    s.handleBytes(hex('00000004 04 000001'), 0); // have with a 3-byte index
    onlyDisconnect(events(s), 'protocol');
  });

  it('a wrong info-hash disconnects with info-hash, on both sides', () => {
    const a = outgoing();
    a.drainTransmit();
    a.handleBytes(handshakeOf(ALL_BITS, OTHER_HASH, ID_B), 0);
    onlyDisconnect(events(a), 'info-hash');
    assert.equal(a.isOpen, false);

    const b = incoming();
    b.handleBytes(handshakeOf(ALL_BITS, OTHER_HASH), 0);
    onlyDisconnect(events(b), 'info-hash');
    assert.equal(b.pollTransmit(), undefined, 'the incoming side never answers an unknown torrent');

    const none = new PeerSession({ role: 'incoming', peerId: ID_B, reserved: ALL_BITS }, 0);
    none.handleBytes(handshakeOf(ALL_BITS), 0);
    onlyDisconnect(events(none), 'info-hash');
  });

  it('connecting to ourselves (our own peer id) disconnects', () => {
    const a = outgoing();
    a.drainTransmit();
    a.handleBytes(handshakeOf(ALL_BITS, INFO_HASH, ID_A), 0);
    onlyDisconnect(events(a), 'handshake');

    const b = incoming();
    b.handleBytes(handshakeOf(ALL_BITS, INFO_HASH, ID_B), 0);
    onlyDisconnect(events(b), 'handshake');
    assert.equal(b.pollTransmit(), undefined);

    // a session really talking to itself: outgoing and incoming with one peer id
    const self = outgoing();
    const mirror = incoming({ peerId: ID_A });
    pump(self, mirror);
    onlyDisconnect(events(mirror), 'handshake');
  });

  it('something that is not a BitTorrent handshake disconnects with handshake', () => {
    const b = incoming();
    b.handleBytes(Buffer.from('GET /announce?info_hash=x HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl\r\n\r\n'), 0);
    onlyDisconnect(events(b), 'handshake');
  });

  it('an outgoing session needs an info-hash', () => {
    assert.throws(() => new PeerSession({ role: 'outgoing', peerId: ID_A, reserved: ALL_BITS }, 0));
  });
});

describe('PeerSession: sending', () => {
  it('sendBitfield picks have-all / have-none / bitfield / nothing by the fast bit', () => {
    const fast = openPair().a;
    fast.sendBitfield(hex('ff'), true, false, 0);
    fast.sendBitfield(hex('00'), false, true, 0);
    fast.sendBitfield(hex('f0'), false, false, 0);
    assert.deepEqual(fast.drainTransmit(), [hex('00000001 0e'), hex('00000001 0f'), hex('00000002 05 f0')]);
    const slow = openPair({ reserved: NO_BITS }).a;
    slow.sendBitfield(hex('ff'), true, false, 0);
    slow.sendBitfield(hex('00'), false, true, 0);
    assert.deepEqual(slow.drainTransmit(), [hex('00000002 05 ff')]);
  });

  it('reject, allowed fast, extended and port are only sent when negotiated', () => {
    const slow = openPair({ reserved: NO_BITS }, { reserved: NO_BITS }).a;
    slow.sendReject(0, 0, 16384, 0);
    slow.sendAllowedFast(1, 0);
    slow.sendExtended(1, hex('00'), 0);
    slow.sendPort(6881, 0);
    assert.deepEqual(slow.drainTransmit(), []);
    const { a } = openPair();
    a.sendReject(0, 0, 16384, 0);
    a.sendAllowedFast(1, 0);
    a.sendExtended(1, hex('00'), 0);
    a.sendPort(6881, 0);
    assert.deepEqual(a.drainTransmit(), [encodeBlockRef('reject', 0, 0, 16384), encodeAllowedFast(1), hex('00000003 14 01 00'), hex('00000003 09 1ae1')]);
  });

  it('pollTransmit hands frames out one at a time, in order', () => {
    const { a } = openPair();
    a.sendChoke(0);
    a.sendUnchoke(0);
    assert.deepEqual(a.pollTransmit(), hex('00000001 00'));
    assert.deepEqual(a.pollTransmit(), hex('00000001 01'));
    assert.equal(a.pollTransmit(), undefined);
  });

  it('sendPiece queues the block itself after its header, uncopied', () => {
    const { a } = openPair();
    const data = Buffer.alloc(16384, 9);
    a.sendPiece(3, 16384, data, 0);
    const out = a.drainTransmit();
    assert.equal(out.length, 2);
    assert.deepEqual(out[0], encodePieceHeader(3, 16384, 16384));
    assert.equal(out[1], data);
  });
});

describe('PeerSession: piece payloads are views', () => {
  it('a piece frame inside one chunk is decoded without copying', () => {
    const s = afterHandshake(ALL_BITS, ALL_BITS);
    const parts = Buffer.concat([encodeSimple('unchoke'), encodePieceHeader(1, 0, 1000), Buffer.alloc(1000, 3)]);
    const chunk = Buffer.alloc(parts.length); // never from the shared pool
    parts.copy(chunk);
    s.handleBytes(chunk, 0);
    const evs = events(s);
    const m = evs[1];
    assert.ok(m && m.type === 'message' && m.msg.type === 'piece');
    assert.equal(m.msg.data.length, 1000);
    assert.equal(m.msg.data.buffer, chunk.buffer, 'a view of the chunk');
    assert.equal(m.msg.data.byteOffset, chunk.byteOffset + 5 + 13);
  });

  it('a piece frame split across chunks arrives whole (one copy)', () => {
    const s = afterHandshake(ALL_BITS, ALL_BITS);
    const frame = Buffer.concat([encodePieceHeader(1, 0, 1000), Buffer.alloc(1000, 3)]);
    s.handleBytes(frame.subarray(0, 500), 0);
    assert.deepEqual(events(s), []);
    s.handleBytes(frame.subarray(500), 0);
    const m = events(s)[0];
    assert.ok(m && m.type === 'message' && m.msg.type === 'piece');
    assert.deepEqual(m.msg.data, Buffer.alloc(1000, 3));
  });
});

describe('PeerSession: timeouts and keep-alives', () => {
  it('times out a missing handshake at the handshake deadline', () => {
    const b = incoming({ handshakeTimeoutMs: 5000, idleTimeoutMs: 60_000 }, 1000);
    assert.equal(b.nextDeadline(), 6000);
    b.handleTimeout(5999);
    assert.deepEqual(events(b), []);
    b.handleBytes(handshakeOf(ALL_BITS).subarray(0, 30), 3000); // a partial handshake does not help
    b.handleTimeout(6000);
    onlyDisconnect(events(b), 'timeout');
    assert.equal(b.nextDeadline(), undefined);
  });

  it('the outgoing side times out too when the peer never answers', () => {
    const a = outgoing({ handshakeTimeoutMs: 20_000 }, 0);
    assert.equal(a.nextDeadline(), 20_000);
    a.handleTimeout(20_000);
    onlyDisconnect(events(a), 'timeout');
  });

  it('sends a keep-alive after keepAliveMs of quiet and times out after idleTimeoutMs of silence', () => {
    const { a } = openPair({ keepAliveMs: 4000, idleTimeoutMs: 10_000 }, {}, 0);
    a.drainTransmit();
    assert.equal(a.nextDeadline(), 4000);
    a.handleTimeout(3999);
    assert.equal(a.pollTransmit(), undefined);
    a.handleTimeout(4000);
    assert.deepEqual(a.drainTransmit(), [hex('00000000')]);
    assert.equal(a.nextDeadline(), 8000);
    a.sendInterested(5000); // any send counts as activity
    assert.deepEqual(a.drainTransmit(), [hex('00000001 02')]);
    assert.equal(a.nextDeadline(), 9000);
    a.handleTimeout(9000);
    assert.deepEqual(a.drainTransmit(), [hex('00000000')]);
    assert.equal(a.nextDeadline(), 10_000, 'the idle deadline is sooner now');
    // the peer's keep-alive counts as activity and produces no event
    a.handleBytes(encodeKeepAlive(), 9500);
    assert.deepEqual(events(a), []);
    assert.equal(a.nextDeadline(), 13_000);
    a.handleTimeout(13_000);
    a.drainTransmit();
    a.handleTimeout(19_499);
    assert.deepEqual(events(a), []);
    a.handleTimeout(19_500);
    onlyDisconnect(events(a), 'timeout');
    assert.equal(a.nextDeadline(), undefined);
  });

  it('handleTimeout before any deadline does nothing', () => {
    const { a } = openPair({}, {}, 100);
    a.drainTransmit();
    a.handleTimeout(a.nextDeadline()! - 1);
    assert.deepEqual(events(a), []);
    assert.equal(a.pollTransmit(), undefined);
  });
});

describe('PeerSession: after a disconnect', () => {
  it('emits nothing more and ignores input, sends and timeouts', () => {
    const s = afterHandshake(NO_BITS, ALL_BITS);
    // a valid frame, a violation, then more valid frames in the same chunk
    s.handleBytes(Buffer.concat([encodeSimple('interested'), encodeSimple('haveAll'), encodeSimple('choke'), encodeHave(1)]), 0);
    const evs = events(s);
    assert.deepEqual(evs.map((e) => e.type), ['message', 'disconnect']);
    onlyDisconnect(evs, 'protocol');
    assert.equal(bufferedBytes(s), 0, 'input dropped');
    s.handleBytes(encodeSimple('unchoke'), 1);
    s.handleTimeout(1e9);
    s.close();
    s.sendInterested(2);
    s.sendHave(1, 2);
    s.sendPiece(0, 0, Buffer.alloc(10), 2);
    assert.deepEqual(events(s), []);
    assert.equal(s.pollTransmit(), undefined);
    assert.equal(s.nextDeadline(), undefined);
    assert.ok(s.closed);
  });

  it('close() emits one closed-by-us disconnect', () => {
    const { a } = openPair();
    a.close('bye');
    assert.deepEqual(events(a), [{ type: 'disconnect', code: 'closed-by-us', reason: 'bye' }]);
    a.close('again');
    assert.deepEqual(events(a), []);
  });
});
