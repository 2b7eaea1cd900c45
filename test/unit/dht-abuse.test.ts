/**
 * Property and abuse tests for the DhtNode (fast-check, fixed seeds): random bytes, mutated valid
 * packets, well-formed queries with random arguments, and garbage answers to its own queries, from
 * many addresses and with time passing. Nothing may throw; malformed packets are counted and never
 * answered; every packet it sends fits a UDP datagram; and its memory stays bounded — routing table
 * within its buckets, storage within its caps (even with valid tokens), transactions few and gone
 * after their timeout, rate-limit entries purged, external-address votes bounded. Plus a query flood
 * from one IP being rate-limited while another IP is still answered.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encode } from '../../src/bencode/index.js';
import type { Encodable } from '../../src/bencode/index.js';
import type { DhtNode } from '../../src/dht/dht-node.js';
import { QUERY_TIMEOUT_MS } from '../../src/dht/dht-node.js';
import { KrpcError, MAX_PACKET, decodeKrpc, encodeError, encodeQuery, encodeResponse } from '../../src/dht/krpc.js';
import { EXTENDED_BUCKET_SIZES, K } from '../../src/dht/routing-table.js';
import type { PeerAddress } from '../../src/net/compact.js';
import { addr, ask, drain, makeNode } from './support/dht-helpers.js';
import type { Sent } from './support/dht-helpers.js';

const LIMITS = { maxTorrents: 20, maxPeersPerTorrent: 5, maxItems: 10 };

/** The node's private bookkeeping, read to check it stays bounded. */
interface Internals {
  transactions: Map<string, unknown>;
  rate: Map<string, unknown>;
  lookups: Set<unknown>;
  out: unknown[];
}
const internals = (n: DhtNode): Internals => n as unknown as Internals;

const bencodeValue: fc.Arbitrary<Encodable> = fc.letrec<{ value: Encodable }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer(),
    fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 4 }),
  ),
})).value;

const bytes = (min: number, max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ minLength: min, maxLength: max }).map((u) => Buffer.from(u));
const id20 = bytes(20, 20);
/** Usually the right length, sometimes not. */
const idLike = fc.oneof({ weight: 8, arbitrary: id20 }, { weight: 1, arbitrary: bytes(0, 30) });

const METHODS = ['ping', 'find_node', 'get_peers', 'announce_peer', 'get', 'put', 'sample_infohashes', 'vote', 'x'] as const;

interface QuerySpec {
  method: string;
  args: Record<string, Encodable | undefined>;
  /** Replace the token with a valid one for the sender (fetched first with get_peers). */
  validToken: boolean;
  ro: boolean;
}

const querySpec: fc.Arbitrary<QuerySpec> = fc.record({
  method: fc.oneof(fc.constantFrom(...METHODS), fc.string({ minLength: 1, maxLength: 12 })),
  args: fc.record(
    {
      id: idLike,
      target: idLike,
      info_hash: idLike,
      port: fc.oneof(fc.integer({ min: -10, max: 70000 }), fc.constant(6881)),
      implied_port: fc.integer({ min: -1, max: 2 }),
      token: bytes(0, 12),
      v: bencodeValue,
      k: fc.oneof(bytes(32, 32), bytes(0, 40)),
      sig: fc.oneof(bytes(64, 64), bytes(0, 70)),
      seq: fc.integer({ min: -5, max: 2 ** 40 }),
      cas: fc.integer({ min: -5, max: 100 }),
      salt: bytes(0, 80),
      seed: fc.integer({ min: 0, max: 1 }),
      want: fc.array(fc.constantFrom('n4', 'n6', 'xx'), { maxLength: 3 }),
    },
    { requiredKeys: ['id'] },
  ),
  validToken: fc.boolean(),
  ro: fc.boolean(),
});

const responseSpec = fc.record(
  {
    id: idLike,
    nodes: fc.oneof(bytes(0, 30).map((b) => b), fc.array(fc.tuple(id20, bytes(6, 6)), { maxLength: 10 }).map((xs) => Buffer.concat(xs.flat()))),
    values: fc.array(bytes(0, 10), { maxLength: 5 }),
    token: bytes(0, 20),
    v: bencodeValue,
    k: bytes(32, 32),
    sig: bytes(64, 64),
    seq: fc.integer(),
    samples: bytes(0, 60),
  },
  { requiredKeys: [] },
);

type Step =
  | { kind: 'bytes'; bytes: Buffer }
  | { kind: 'mutated'; base: number; muts: [number, number, number][] }
  | { kind: 'query'; q: QuerySpec }
  | { kind: 'answer'; pick: number; r: Record<string, Encodable | undefined>; ip: Buffer | undefined; error: boolean; wrongAddr: boolean }
  | { kind: 'tick' };

const step: fc.Arbitrary<{ s: Step; from: number; dt: number }> = fc.record({
  s: fc.oneof(
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: bytes(0, 200) }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('mutated' as const),
        base: fc.nat(),
        muts: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 4 }),
      }),
    },
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('query' as const), q: querySpec }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('answer' as const),
        pick: fc.nat(),
        r: responseSpec,
        ip: fc.option(bytes(0, 8), { nil: undefined }),
        error: fc.boolean(),
        wrongAddr: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'tick' as const }) },
  ),
  from: fc.nat({ max: 300 }),
  dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 20_000 })),
});

/** Valid packets to mutate. */
const BASES: Buffer[] = [
  encodeQuery(Buffer.from('aa'), 'ping', { id: Buffer.alloc(20, 1) }),
  encodeQuery(Buffer.from('ab'), 'find_node', { id: Buffer.alloc(20, 2), target: Buffer.alloc(20, 3) }),
  encodeQuery(Buffer.from('ac'), 'get_peers', { id: Buffer.alloc(20, 4), info_hash: Buffer.alloc(20, 5) }),
  encodeQuery(Buffer.from('ad'), 'announce_peer', { id: Buffer.alloc(20, 6), info_hash: Buffer.alloc(20, 5), port: 6881, token: 'aoeusnth', implied_port: 1 }),
  encodeQuery(Buffer.from('ae'), 'get', { id: Buffer.alloc(20, 7), target: Buffer.alloc(20, 8), seq: 3 }),
  encodeQuery(Buffer.from('af'), 'put', { id: Buffer.alloc(20, 9), token: 'tok', v: 'hello', k: Buffer.alloc(32, 1), sig: Buffer.alloc(64, 2), seq: 1, salt: 'salt' }),
  encodeQuery(Buffer.from('ag'), 'sample_infohashes', { id: Buffer.alloc(20, 10), target: Buffer.alloc(20, 11) }),
  encodeResponse(Buffer.from([0, 1]), { id: Buffer.alloc(20, 12), nodes: Buffer.alloc(52, 13), token: 'tok', values: [Buffer.alloc(6, 14)] }),
  encodeError(Buffer.from([0, 2]), 201, 'generic'),
  // BEP 32 and 33 fields: want lists, scrape/noseed flags, nodes6 and bloom filters in answers.
  encodeQuery(Buffer.from('ah'), 'get_peers', { id: Buffer.alloc(20, 15), info_hash: Buffer.alloc(20, 5), want: ['n4', 'n6'], scrape: 1, noseed: 1 }),
  encodeQuery(Buffer.from('ai'), 'find_node', { id: Buffer.alloc(20, 16), target: Buffer.alloc(20, 3), want: ['n6', 'x'] }),
  encodeQuery(Buffer.from('aj'), 'announce_peer', { id: Buffer.alloc(20, 17), info_hash: Buffer.alloc(20, 5), port: 6881, token: 'tok', seed: 1 }),
  encodeResponse(Buffer.from([0, 3]), { id: Buffer.alloc(20, 18), nodes6: Buffer.alloc(76, 19), BFsd: Buffer.alloc(256, 1), BFpe: Buffer.alloc(256, 2), values: [Buffer.alloc(18, 20)] }),
];

function mutate(base: Buffer, muts: [number, number, number][]): Buffer {
  const b = [...base];
  for (const [at, v, op] of muts) {
    const i = b.length === 0 ? 0 : at % b.length;
    if (op === 0) b[i] = v;
    else if (op === 1) b.splice(i, 0, v);
    else b.splice(i, 1);
  }
  return Buffer.from(b);
}

const peer = (i: number): PeerAddress => ({ host: `10.7.${(i >> 8) & 255}.${i & 255}`, port: 6881 + (i % 3) });

/** Most nodes a table of `buckets` buckets can hold: the far ones are larger (the extended table). */
function tableCapacity(buckets: number): number {
  let capacity = 0;
  for (let i = 0; i < buckets; i++) capacity += EXTENDED_BUCKET_SIZES[i] ?? K;
  return capacity;
}

function checkBounds(node: DhtNode, sent: readonly Sent[]): void {
  const st = node.getStats();
  assert.ok(st.buckets >= 1 && st.buckets <= 160);
  assert.ok(st.nodes <= tableCapacity(st.buckets), `${st.nodes} nodes in ${st.buckets} buckets`);
  assert.ok(st.storedTorrents <= LIMITS.maxTorrents);
  assert.ok(st.storedPeers <= LIMITS.maxTorrents * LIMITS.maxPeersPerTorrent);
  assert.ok(st.storedItems <= LIMITS.maxItems);
  const inner = internals(node);
  assert.ok(inner.transactions.size <= 1000, `${inner.transactions.size} transactions`);
  assert.equal(inner.out.length, 0);
  for (const s of sent) assert.ok(s.bytes.length <= MAX_PACKET, `sent ${s.bytes.length} bytes`);
}

describe('DhtNode under hostile input', () => {
  it('property: random, mutated and well-formed-but-wrong packets never throw, and memory stays bounded', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 50, maxLength: 250, size: 'max' }), (steps) => {
        const node = makeNode({ limits: LIMITS, queriesPerIpPerSec: 20 }, 1000);
        let now = 1000;
        const pending: Sent[] = []; // queries the node sent, to answer
        const collect = (): Sent[] => {
          const sent = drain(node);
          for (const s of sent) if (s.msg.y === 'q') pending.push(s);
          if (pending.length > 200) pending.splice(0, pending.length - 200);
          return sent;
        };
        for (const { s, from, dt } of steps) {
          now += dt;
          const at = peer(from);
          let sent: Sent[] = [];
          if (s.kind === 'bytes' || s.kind === 'mutated') {
            const b = s.kind === 'bytes' ? s.bytes : mutate(BASES[s.base % BASES.length]!, s.muts);
            let malformed = false;
            try {
              decodeKrpc(b);
            } catch (e) {
              assert.ok(e instanceof KrpcError);
              malformed = true;
            }
            const before = node.getStats().malformed;
            node.handlePacket(b, at, now);
            sent = collect();
            if (malformed) {
              assert.equal(node.getStats().malformed, before + 1, 'a malformed packet is counted');
              assert.equal(sent.length, 0, 'a malformed packet is never answered');
            }
          } else if (s.kind === 'query') {
            const args = { ...s.q.args };
            if (s.q.validToken) {
              const r = ask(node, at, 'get_peers', { id: Buffer.alloc(20, 1), info_hash: Buffer.alloc(20, 2) }, now).reply;
              if (r?.y === 'r' && Buffer.isBuffer(r.r.get('token'))) args.token = r.r.get('token');
              collect();
            }
            node.handlePacket(encodeQuery(Buffer.from([from & 255, 7]), s.q.method, args, { readOnly: s.q.ro }), at, now);
            sent = collect();
          } else if (s.kind === 'answer') {
            const q = pending.length > 0 ? pending.splice(s.pick % pending.length, 1)[0]! : undefined;
            const to = q && !s.wrongAddr ? q.to : at;
            const t = q ? q.msg.t : Buffer.from([s.pick & 255, 1]);
            const pkt = s.error ? encodeError(t, 201, 'no') : encodeResponse(t, s.r, s.ip ? { ip: s.ip } : {});
            node.handlePacket(pkt, to, now);
            sent = collect();
          } else {
            node.handleTimeout(now);
            sent = collect();
          }
          checkBounds(node, sent);
        }
        // Once every timeout has passed, no transaction is left over.
        now += QUERY_TIMEOUT_MS * 10;
        node.handleTimeout(now);
        collect();
        node.handleTimeout(now + QUERY_TIMEOUT_MS);
        collect();
        assert.equal(internals(node).lookups.size, 0);
        assert.equal(internals(node).transactions.size, 0, 'transactions left after their timeout');
        // Rate-limit entries of idle senders are purged by maintenance.
        node.handleTimeout(now + 60_000);
        collect();
        assert.equal(internals(node).rate.size, 0, 'rate-limit entries kept for idle senders');
      }),
      { seed: 0xd47, numRuns: 120 },
    );
  });

  it('a flood with valid tokens from thousands of addresses stays within every cap', () => {
    const node = makeNode({ limits: LIMITS, queriesPerIpPerSec: 1e9 }, 1000);
    let now = 1000;
    let h = 1;
    for (let i = 0; i < 3000; i++) {
      now += 7;
      const from = { host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 6881 };
      const id = Buffer.alloc(20);
      id.writeUInt32BE(Math.imul(i, 0x9e3779b1) >>> 0, 0);
      id.writeUInt32BE(i, 16);
      const ih = Buffer.alloc(20, h++ & 255);
      ih.writeUInt32BE(i, 0);
      const tok = ask(node, from, 'get_peers', { id, info_hash: ih }, now).reply;
      assert.ok(tok?.y === 'r');
      const token = tok.r.get('token') as Buffer;
      ask(node, from, 'announce_peer', { id, info_hash: i % 2 ? ih : Buffer.alloc(20, 0xee), port: 1 + (i % 60000), token }, now);
      const v = encode({ i, pad: Buffer.alloc(i % 500) });
      ask(node, from, 'put', { id, token, v: { i, pad: Buffer.alloc(i % 500) } }, now);
      assert.ok(v.length <= 1000);
      const st = node.getStats();
      assert.ok(st.storedTorrents <= LIMITS.maxTorrents && st.storedItems <= LIMITS.maxItems && st.storedPeers <= LIMITS.maxTorrents * LIMITS.maxPeersPerTorrent);
      assert.ok(st.nodes <= tableCapacity(st.buckets));
      assert.ok(internals(node).transactions.size <= 1000);
    }
    const st = node.getStats();
    assert.equal(st.storedTorrents, LIMITS.maxTorrents);
    assert.equal(st.storedItems, LIMITS.maxItems);
    assert.ok(st.nodes < 300, `${st.nodes} nodes`);
  });

  it('votes for our external address (BEP 42 ip) stay bounded whatever the answers say', () => {
    const node = makeNode({}, 1000);
    for (let i = 0; i < 1000; i++) {
      const at = peer(i);
      node.ping(at, 1000 + i);
      const [q] = drain(node);
      const ip = Buffer.from([1, (i >> 16) & 255, (i >> 8) & 255, i & 255, 0x1a, 0xe1]);
      const id = Buffer.alloc(20, 0x55);
      id.writeUInt32BE(i, 0);
      node.handlePacket(encodeResponse(q!.msg.t, { id }, { ip }), at, 1000 + i);
    }
    assert.ok(node.externalVotes.size <= 100, `${node.externalVotes.size} distinct external-address votes kept`);
  });
});

describe('rate limiting', () => {
  it('a flood of queries from one IP is cut off while another IP is still answered', () => {
    const node = makeNode({ queriesPerIpPerSec: 50 }, 1000);
    const flooder = addr(1);
    const other = addr(2);
    let answeredFlood = 0;
    let answeredOther = 0;
    for (let i = 0; i < 500; i++) {
      const now = 1000 + i; // 500 queries within half a second
      if (ask(node, flooder, 'find_node', { id: Buffer.alloc(20, 1), target: Buffer.alloc(20, i & 255) }, now).reply) answeredFlood++;
      if (i % 25 === 0 && ask(node, other, 'ping', { id: Buffer.alloc(20, 2) }, now).reply) answeredOther++;
    }
    assert.equal(answeredFlood, 50);
    assert.equal(node.getStats().rateLimited, 450);
    assert.equal(answeredOther, 20, 'the other IP is answered throughout');
    // Replies stop once the limit is hit: nothing at all is sent to the flooder.
    const late = ask(node, flooder, 'ping', { id: Buffer.alloc(20, 1) }, 1999);
    assert.equal(late.reply, undefined);
    assert.equal(late.others.length, 0);
    // In the next second it is answered again.
    assert.ok(ask(node, flooder, 'ping', { id: Buffer.alloc(20, 1) }, 2000).reply);
  });

  it('rate-limited queries do not touch the routing table or storage', () => {
    const node = makeNode({ queriesPerIpPerSec: 5 }, 1000);
    for (let i = 0; i < 5; i++) ask(node, addr(1), 'ping', { id: Buffer.alloc(20, 1) }, 1000);
    const before = node.getStats();
    for (let i = 0; i < 100; i++) {
      const id = Buffer.alloc(20, 3);
      id.writeUInt32BE(i);
      ask(node, addr(1, 7000 + i), 'ping', { id }, 1001);
    }
    const after = node.getStats();
    assert.equal(after.nodes, before.nodes);
    assert.equal(after.rateLimited, 100);
    assert.equal(after.queriesIn, before.queriesIn);
  });
});
