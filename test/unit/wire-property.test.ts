/**
 * Property tests (fast-check, fixed seeds) for the PeerSession fed hostile input: random byte
 * streams, random frames after a valid handshake, and mutated valid streams, in random chunkings and
 * with timeouts interleaved. Nothing may throw; the events must obey the session's rules (one
 * handshake first, at most one disconnect and nothing after it, fast / extended messages only when
 * negotiated; have-all / have-none only with it); and the bytes the session holds on to stay
 * bounded by the frame limit. Well-formed streams decode to exactly the messages sent.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PeerSession } from '../../src/peer/session.js';
import type { PeerSessionEvent } from '../../src/peer/session.js';
import { encodeHandshake, HANDSHAKE_LENGTH } from '../../src/wire/handshake.js';
import type { Reserved } from '../../src/wire/handshake.js';
import {
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
} from '../../src/wire/messages.js';
import type { WireMessage } from '../../src/wire/messages.js';
import { ALL_BITS, ID_A, ID_B, INFO_HASH, bufferedBytes, events, splitAt } from './support/swarm-helpers.js';

const SEED = 20240611;
const FAST_TYPES = new Set(['haveAll', 'haveNone', 'suggest', 'reject', 'allowedFast']);
const CODES = new Set(['protocol', 'frame-too-large', 'timeout', 'handshake', 'info-hash', 'closed-by-us']);

// ---------------------------------------------------------------------------------------------
// Arbitraries

const reservedArb: fc.Arbitrary<Reserved> = fc.record({ extensions: fc.boolean(), fast: fc.boolean(), dht: fc.boolean(), v2: fc.boolean() });

interface Setup {
  role: 'incoming' | 'outgoing';
  ours: Reserved;
  theirs: Reserved;
  maxFrameBytes: number;
}

const setupArb: fc.Arbitrary<Setup> = fc.record({
  role: fc.constantFrom('incoming' as const, 'outgoing' as const),
  ours: reservedArb,
  theirs: reservedArb,
  maxFrameBytes: fc.constantFrom(16, 64, 300, 1024 * 1024 + 64),
});

function frame(id: number, payload: Uint8Array): Buffer {
  const b = Buffer.alloc(5 + payload.length);
  b.writeUInt32BE(1 + payload.length, 0);
  b[4] = id;
  b.set(payload, 5);
  return b;
}

const u32 = fc.nat({ max: 0xffffffff });

/** Frames of every kind: well-formed ones, any id with any payload, odd length prefixes, garbage. */
const frameArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constantFrom('choke', 'unchoke', 'interested', 'notInterested', 'haveAll', 'haveNone').map((t) => encodeSimple(t)),
  fc.constant(encodeKeepAlive()),
  u32.map(encodeHave),
  u32.map(encodeSuggest),
  u32.map(encodeAllowedFast),
  fc.uint8Array({ maxLength: 20 }).map(encodeBitfield),
  fc.tuple(fc.constantFrom('request' as const, 'cancel' as const, 'reject' as const), u32, u32, u32).map(([t, i, b, l]) => encodeBlockRef(t, i, b, l)),
  fc.tuple(u32, u32, fc.uint8Array({ maxLength: 80 })).map(([i, b, d]) => Buffer.concat([encodePieceHeader(i, b, d.length), d])),
  fc.integer({ min: 0, max: 65535 }).map(encodePort),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 40 })).map(([id, p]) => encodeExtended(id, p)),
  fc.tuple(fc.constantFrom('hashRequest' as const, 'hashReject' as const, 'hashes' as const), fc.nat({ max: 3 })).map(([t, n]) =>
    encodeHashMessage(t, { root: Buffer.alloc(32, 1), baseLayer: 0, index: 0, length: 2, proofLayers: 0 }, Buffer.alloc(32 * n, 2)),
  ),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 60 })).map(([id, p]) => frame(id, p)),
  fc.tuple(u32, fc.uint8Array({ maxLength: 30 })).map(([len, rest]) => {
    const b = Buffer.alloc(4 + rest.length);
    b.writeUInt32BE(len, 0);
    b.set(rest, 4);
    return b;
  }),
  fc.uint8Array({ maxLength: 30 }).map((u) => Buffer.from(u)),
);

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat({ max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(input: Buffer, muts: readonly Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of muts) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    switch (m.kind) {
      case 'flip':
        b[at]! ^= 1 << m.bit;
        break;
      case 'set':
        b[at] = m.value;
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)]);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
    }
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// Driving a session and checking its rules

function makeSession(s: Setup, now = 0): PeerSession {
  return s.role === 'outgoing'
    ? new PeerSession({ role: 'outgoing', infoHash: INFO_HASH, peerId: ID_A, reserved: s.ours, maxFrameBytes: s.maxFrameBytes }, now)
    : new PeerSession(
        { role: 'incoming', peerId: ID_A, reserved: s.ours, maxFrameBytes: s.maxFrameBytes, accept: (h) => (h.equals(INFO_HASH) ? INFO_HASH : undefined) },
        now,
      );
}

/** What a valid remote peer sends first. */
const remoteHandshake = (theirs: Reserved): Buffer => encodeHandshake({ reserved: theirs, infoHash: INFO_HASH, peerId: ID_B });

/** The most input a session may hold: an incomplete handshake, or an incomplete frame under the limit. */
const bound = (s: Setup): number => Math.max(HANDSHAKE_LENGTH - 1, s.maxFrameBytes + 3);

interface Step {
  cut: number;
  /** Advance the clock by this much and call handleTimeout, after this chunk. */
  wait: number;
}

const stepsArb: fc.Arbitrary<Step[]> = fc.array(
  fc.record({ cut: fc.nat({ max: 5000 }), wait: fc.oneof(fc.constant(0), fc.constant(0), fc.nat({ max: 200_000 })) }),
  { maxLength: 25, size: 'medium' },
);

function drive(setup: Setup, stream: Buffer, steps: readonly Step[]): { s: PeerSession; evs: PeerSessionEvent[] } {
  const s = makeSession(setup);
  let now = 0;
  const all: PeerSessionEvent[] = [];
  const collect = (): void => {
    const evs = events(s);
    if (all.some((e) => e.type === 'disconnect')) assert.deepEqual(evs, [], 'nothing after a disconnect');
    all.push(...evs);
    assert.ok(bufferedBytes(s) <= bound(setup), `holding ${bufferedBytes(s)} bytes`);
    if (s.closed) assert.equal(bufferedBytes(s), 0, 'a closed session keeps no input');
    s.drainTransmit();
  };
  const chunks = splitAt(
    stream,
    steps.map((st) => st.cut),
  );
  chunks.forEach((c, i) => {
    s.handleBytes(c, now);
    collect();
    const wait = steps[i]?.wait ?? 0;
    if (wait > 0) {
      now += wait;
      s.handleTimeout(now);
      collect();
    }
  });
  // and after a disconnect, more input does nothing
  if (s.closed) {
    s.handleBytes(remoteHandshake(setup.theirs), now);
    s.handleBytes(encodeSimple('interested'), now);
    s.handleTimeout(now + 1e9);
    collect();
  }
  checkRules(s, all);
  return { s, evs: all };
}

function checkRules(s: PeerSession, evs: readonly PeerSessionEvent[]): void {
  const d = evs.findIndex((e) => e.type === 'disconnect');
  if (d >= 0) {
    assert.equal(d, evs.length - 1, 'the disconnect is the last event');
    const e = evs[d]!;
    assert.ok(e.type === 'disconnect' && CODES.has(e.code));
    assert.ok(s.closed);
  }
  const h = evs.findIndex((e) => e.type === 'handshake');
  assert.ok(evs.filter((e) => e.type === 'handshake').length <= 1, 'one handshake');
  evs.forEach((e, i) => {
    if (e.type !== 'message') return;
    assert.ok(h >= 0 && h < i, 'messages only after the handshake');
    const t = e.msg.type;
    assert.ok(!['keepAlive'].includes(t), 'keep-alives are not events');
    if (FAST_TYPES.has(t)) assert.ok(s.fast, `${t} without the fast extension`);
    if (t === 'extended') assert.ok(s.extensions, 'extended without the extension protocol');
    // A late bitfield is accepted (aria2 sends one after have-none): it replaces the peer's piece set.
  });
}

// ---------------------------------------------------------------------------------------------

describe('PeerSession under hostile input (property)', () => {
  it('random byte streams never throw and stay within bounds', () => {
    fc.assert(
      fc.property(setupArb, fc.uint8Array({ maxLength: 3000, size: 'large' }), stepsArb, (setup, bytes, steps) => {
        const { evs } = drive(setup, Buffer.from(bytes), steps);
        // random bytes essentially never form a BitTorrent handshake
        assert.ok(evs.every((e) => e.type !== 'message'));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('random frames after a valid handshake never throw and obey the rules', () => {
    const seen = new Map<string, number>();
    const count = (k: string): void => void seen.set(k, (seen.get(k) ?? 0) + 1);
    fc.assert(
      fc.property(setupArb, fc.array(frameArb, { maxLength: 60, size: 'medium' }), stepsArb, (setup, frames, steps) => {
        const { evs } = drive(setup, Buffer.concat([remoteHandshake(setup.theirs), ...frames]), steps);
        for (const e of evs) count(e.type === 'disconnect' ? `disconnect:${e.code}` : e.type === 'message' ? 'message' : e.type);
        const first = evs[0];
        // the handshake is accepted unless a timeout fired first
        if (first && first.type !== 'handshake') assert.ok(first.type === 'disconnect' && first.code === 'timeout', JSON.stringify(first));
      }),
      { seed: SEED + 1, numRuns: 500 },
    );
    // the generator reaches every path that matters
    for (const k of ['handshake', 'message', 'disconnect:protocol', 'disconnect:frame-too-large', 'disconnect:timeout']) {
      assert.ok((seen.get(k) ?? 0) > 0, `never saw ${k}: ${JSON.stringify([...seen])}`);
    }
  });

  it('mutated valid streams never throw and obey the rules', () => {
    const valid = Buffer.concat([
      remoteHandshake(ALL_BITS),
      encodeBitfield(Uint8Array.from([0xf0])),
      encodeHave(5),
      encodeSimple('unchoke'),
      encodeBlockRef('request', 0, 0, 16384),
      encodePieceHeader(0, 0, 100),
      Buffer.alloc(100, 0x33),
      encodeSuggest(1),
      encodeAllowedFast(2),
      encodeBlockRef('reject', 0, 0, 16384),
      encodeExtended(0, Buffer.from('d1:md6:ut_pexi2eee')),
      encodePort(6881),
      encodeKeepAlive(),
      encodeSimple('choke'),
    ]);
    fc.assert(
      fc.property(setupArb, fc.array(mutationArb, { minLength: 1, maxLength: 6 }), stepsArb, (setup, muts, steps) => {
        drive({ ...setup, theirs: ALL_BITS }, mutate(valid, muts), steps);
      }),
      { seed: SEED + 2, numRuns: 500 },
    );
  });

  it('a frame trickling in one byte at a time is held only up to the limit', () => {
    const setup: Setup = { role: 'incoming', ours: ALL_BITS, theirs: ALL_BITS, maxFrameBytes: 4096 };
    const s = makeSession(setup);
    s.handleBytes(remoteHandshake(ALL_BITS), 0);
    events(s);
    const f = Buffer.concat([encodePieceHeader(0, 0, 4096 - 9), Buffer.alloc(4096 - 9, 1)]);
    let max = 0;
    for (let i = 0; i < f.length; i++) {
      s.handleBytes(f.subarray(i, i + 1), 0);
      max = Math.max(max, bufferedBytes(s));
    }
    assert.equal(max, f.length - 1);
    assert.equal(bufferedBytes(s), 0);
    const evs = events(s);
    assert.equal(evs.length, 1);
    const m = evs[0]!;
    assert.ok(m.type === 'message' && m.msg.type === 'piece' && m.msg.data.equals(Buffer.alloc(4096 - 9, 1)));
  });
});

describe('PeerSession with well-formed input (property)', () => {
  /** Messages a fast + extension peer may send after its state message, with their frames. */
  const validArb: fc.Arbitrary<[Buffer, WireMessage]> = fc.oneof(
    fc.constantFrom('choke', 'unchoke', 'interested', 'notInterested').map((t) => [encodeSimple(t), { type: t }] as [Buffer, WireMessage]),
    u32.map((i) => [encodeHave(i), { type: 'have', index: i }] as [Buffer, WireMessage]),
    u32.map((i) => [encodeSuggest(i), { type: 'suggest', index: i }] as [Buffer, WireMessage]),
    u32.map((i) => [encodeAllowedFast(i), { type: 'allowedFast', index: i }] as [Buffer, WireMessage]),
    fc.tuple(fc.constantFrom('request' as const, 'cancel' as const, 'reject' as const), u32, u32, u32).map(([t, index, begin, length]) => [encodeBlockRef(t, index, begin, length), { type: t, index, begin, length }] as [Buffer, WireMessage]),
    fc.tuple(u32, u32, fc.uint8Array({ maxLength: 200 })).map(([index, begin, d]) => [Buffer.concat([encodePieceHeader(index, begin, d.length), d]), { type: 'piece', index, begin, data: Buffer.from(d) }] as [Buffer, WireMessage]),
    fc.integer({ min: 0, max: 65535 }).map((port) => [encodePort(port), { type: 'port', port }] as [Buffer, WireMessage]),
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 50 })).map(([id, p]) => [encodeExtended(id, p), { type: 'extended', id, payload: Buffer.from(p) }] as [Buffer, WireMessage]),
    fc.constantFrom(10, 11, 12, 18, 19, 30, 200).map((id) => [frame(id, Uint8Array.from([1, 2])), { type: 'unknown', id }] as [Buffer, WireMessage]),
  );
  const stateArb: fc.Arbitrary<[Buffer, WireMessage][]> = fc.oneof(
    fc.constant([] as [Buffer, WireMessage][]),
    fc.constant([[encodeSimple('haveAll'), { type: 'haveAll' }]] as [Buffer, WireMessage][]),
    fc.constant([[encodeSimple('haveNone'), { type: 'haveNone' }]] as [Buffer, WireMessage][]),
    fc.uint8Array({ minLength: 1, maxLength: 10 }).map((u) => [[encodeBitfield(u), { type: 'bitfield', bits: Buffer.from(u) }]] as [Buffer, WireMessage][]),
  );

  it('decodes to exactly the messages sent, with no disconnect, in any chunking', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('incoming' as const, 'outgoing' as const),
        stateArb,
        fc.array(fc.oneof(validArb, fc.constant([encodeKeepAlive(), undefined] as [Buffer, undefined])), { maxLength: 30 }),
        fc.array(fc.nat({ max: 4000 }), { maxLength: 30 }),
        (role, state, rest, cuts) => {
          const msgs = [...state, ...rest];
          const stream = Buffer.concat([remoteHandshake(ALL_BITS), ...msgs.map(([f]) => f)]);
          const setup: Setup = { role, ours: ALL_BITS, theirs: ALL_BITS, maxFrameBytes: 1024 * 1024 + 64 };
          const { s, evs } = drive(
            setup,
            stream,
            cuts.map((cut) => ({ cut, wait: 0 })),
          );
          assert.ok(s.isOpen);
          assert.deepEqual(evs[0], { type: 'handshake', infoHash: INFO_HASH, peerId: ID_B, reserved: ALL_BITS });
          assert.deepEqual(
            evs.slice(1),
            msgs.filter(([, m]) => m !== undefined).map(([, msg]) => ({ type: 'message', msg })),
          );
        },
      ),
      { seed: SEED + 3, numRuns: 300 },
    );
  });
});
