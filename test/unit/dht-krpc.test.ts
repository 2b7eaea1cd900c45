/**
 * KRPC codec (BEP 5): the exact bytes of BEP 5's example messages, both ways; BEP 43's `ro` flag;
 * BEP 42's `ip`; and malformed packets throwing `KrpcError` (and nothing else).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KrpcError, MAX_PACKET, bytesArg, decodeKrpc, encodeError, encodeQuery, encodeResponse, intArg } from '../../src/dht/krpc.js';
import type { KrpcMessage } from '../../src/dht/krpc.js';
import { decodeCompactNodes, encodeCompactNodes } from '../../src/dht/dht-node.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const aa = b('aa');

/** BEP 5's examples: [name, message as encoded by us, bencoded text from the BEP]. */
const EXAMPLES: [string, () => Buffer, string][] = [
  ['generic error', () => encodeError(aa, 201, 'A Generic Error Ocurred'), 'd1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee'],
  ['ping query', () => encodeQuery(aa, 'ping', { id: 'abcdefghij0123456789' }), 'd1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe'],
  ['ping response', () => encodeResponse(aa, { id: 'mnopqrstuvwxyz123456' }), 'd1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re'],
  [
    'find_node query',
    () => encodeQuery(aa, 'find_node', { id: 'abcdefghij0123456789', target: 'mnopqrstuvwxyz123456' }),
    'd1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe',
  ],
  ['find_node response', () => encodeResponse(aa, { id: '0123456789abcdefghij', nodes: 'def456...' }), 'd1:rd2:id20:0123456789abcdefghij5:nodes9:def456...e1:t2:aa1:y1:re'],
  [
    'get_peers query',
    () => encodeQuery(aa, 'get_peers', { id: 'abcdefghij0123456789', info_hash: 'mnopqrstuvwxyz123456' }),
    'd1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe',
  ],
  [
    'get_peers response with peers',
    () => encodeResponse(aa, { id: 'abcdefghij0123456789', token: 'aoeusnth', values: ['axje.u', 'idhtnm'] }),
    'd1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re',
  ],
  [
    'get_peers response with nodes',
    () => encodeResponse(aa, { id: 'abcdefghij0123456789', token: 'aoeusnth', nodes: 'def456...' }),
    'd1:rd2:id20:abcdefghij01234567895:nodes9:def456...5:token8:aoeusnthe1:t2:aa1:y1:re',
  ],
  [
    'announce_peer query',
    () => encodeQuery(aa, 'announce_peer', { id: 'abcdefghij0123456789', implied_port: 1, info_hash: 'mnopqrstuvwxyz123456', port: 6881, token: 'aoeusnth' }),
    'd1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe',
  ],
  ['announce_peer response', () => encodeResponse(aa, { id: 'mnopqrstuvwxyz123456' }), 'd1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re'],
];

describe('KRPC: BEP 5 example messages', () => {
  for (const [name, make, text] of EXAMPLES) {
    it(`${name}: encodes to the BEP's exact bytes`, () => {
      assert.equal(make().toString('latin1'), text);
    });
  }

  it('decodes the queries with their method and arguments', () => {
    const ping = decodeKrpc(b('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe'));
    assert.equal(ping.y, 'q');
    assert.ok(ping.y === 'q');
    assert.equal(ping.q, 'ping');
    assert.deepEqual(ping.t, aa);
    assert.equal(ping.ro, false);
    assert.deepEqual(bytesArg(ping.a, 'id', 20), b('abcdefghij0123456789'));

    const fn = decodeKrpc(b('d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe'));
    assert.ok(fn.y === 'q');
    assert.equal(fn.q, 'find_node');
    assert.deepEqual(bytesArg(fn.a, 'target', 20), b('mnopqrstuvwxyz123456'));

    const gp = decodeKrpc(b('d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe'));
    assert.ok(gp.y === 'q');
    assert.equal(gp.q, 'get_peers');
    assert.deepEqual(bytesArg(gp.a, 'info_hash', 20), b('mnopqrstuvwxyz123456'));

    const ap = decodeKrpc(
      b('d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe'),
    );
    assert.ok(ap.y === 'q');
    assert.equal(ap.q, 'announce_peer');
    assert.equal(intArg(ap.a, 'implied_port'), 1);
    assert.equal(intArg(ap.a, 'port'), 6881);
    assert.deepEqual(bytesArg(ap.a, 'token'), b('aoeusnth'));
    assert.equal(bytesArg(ap.a, 'info_hash', 19), undefined, 'a length mismatch reads as absent');
    assert.equal(intArg(ap.a, 'token'), undefined, 'a type mismatch reads as absent');
  });

  it('decodes the responses and the error', () => {
    const r = decodeKrpc(b('d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re'));
    assert.ok(r.y === 'r');
    assert.deepEqual(r.t, aa);
    assert.deepEqual(bytesArg(r.r, 'token'), b('aoeusnth'));
    assert.deepEqual(r.r.get('values'), [b('axje.u'), b('idhtnm')]);
    const nodes = decodeKrpc(b('d1:rd2:id20:0123456789abcdefghij5:nodes9:def456...e1:t2:aa1:y1:re'));
    assert.ok(nodes.y === 'r');
    assert.deepEqual(bytesArg(nodes.r, 'nodes'), b('def456...'));
    const e = decodeKrpc(b('d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee'));
    assert.deepEqual(e, { y: 'e', t: aa, code: 201, message: 'A Generic Error Ocurred' } satisfies KrpcMessage);
  });

  it('BEP 43: a read-only query carries ro=1 at the top level, and decodes as such', () => {
    const q = encodeQuery(aa, 'ping', { id: 'abcdefghij0123456789' }, { readOnly: true });
    assert.equal(q.toString('latin1'), 'd1:ad2:id20:abcdefghij0123456789e1:q4:ping2:roi1e1:t2:aa1:y1:qe');
    const m = decodeKrpc(q);
    assert.ok(m.y === 'q' && m.ro);
    const notRo = decodeKrpc(b('d1:ad2:id20:abcdefghij0123456789e1:q4:ping2:roi0e1:t2:aa1:y1:qe'));
    assert.ok(notRo.y === 'q' && !notRo.ro, 'ro=0 is not read-only');
  });

  it("BEP 42: a response carries the requester's compact address in a top-level ip", () => {
    const ip = Buffer.from([124, 31, 75, 21, 0x1a, 0xe1]);
    const r = encodeResponse(aa, { id: 'mnopqrstuvwxyz123456' }, { ip, version: b('SH01') });
    assert.equal(r.toString('latin1'), 'd2:ip6:' + ip.toString('latin1') + '1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:v4:SH011:y1:re');
    const m = decodeKrpc(r);
    assert.ok(m.y === 'r');
    assert.deepEqual(m.ip, ip);
    assert.deepEqual(m.v, b('SH01'));
  });

  it('compact node info: 26 bytes per node, round trip, trailing partial entries ignored', () => {
    const nodes = [
      { id: Buffer.alloc(20, 1), addr: { host: '1.2.3.4', port: 6881 } },
      { id: Buffer.alloc(20, 2), addr: { host: '10.0.0.9', port: 1 } },
    ];
    const enc = encodeCompactNodes(nodes);
    assert.equal(enc.length, 52);
    assert.deepEqual(decodeCompactNodes(enc), nodes);
    assert.deepEqual(decodeCompactNodes(Buffer.concat([enc, Buffer.alloc(25)])), nodes);
  });
});

/** Packets that must be refused, with why. */
const MALFORMED: [string, Buffer][] = [
  ['empty', b('')],
  ['not bencode', b('hello')],
  ['truncated', b('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:q')],
  ['trailing bytes', b('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qeX')],
  ['a list', b('l1:t1:ye')],
  ['an integer', b('i42e')],
  ['no t', b('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:y1:qe')],
  ['empty t', b('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t0:1:y1:qe')],
  ['t too long', b('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t17:aaaaaaaaaaaaaaaaa1:y1:qe')],
  ['t an integer', b('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:ti1e1:y1:qe')],
  ['no y', b('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aae')],
  ['y too long', b('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y2:qqe')],
  ['unknown y', b('d1:t2:aa1:y1:xe')],
  ['query without q', b('d1:ad2:id20:abcdefghij0123456789e1:t2:aa1:y1:qe')],
  ['query with empty q', b('d1:ad2:id20:abcdefghij0123456789e1:q0:1:t2:aa1:y1:qe')],
  ['query with q too long', b(`d1:ad2:id20:abcdefghij0123456789e1:q33:${'x'.repeat(33)}1:t2:aa1:y1:qe`)],
  ['query without a', b('d1:q4:ping1:t2:aa1:y1:qe')],
  ['query with a list for a', b('d1:ale1:q4:ping1:t2:aa1:y1:qe')],
  ['response without r', b('d1:t2:aa1:y1:re')],
  ['response with a string for r', b('d1:r2:id1:t2:aa1:y1:re')],
  ['error without e', b('d1:t2:aa1:y1:ee')],
  ['error with a string for e', b('d1:e3:bad1:t2:aa1:y1:ee')],
  ['error with a string code', b('d1:el3:2014:oopse1:t2:aa1:y1:ee')],
  ['unsorted keys', b('d1:t2:aa1:ad2:id20:abcdefghij0123456789e1:q4:ping1:y1:qe')],
  ['non-canonical integer', b('d1:eli0201e1:xe1:t2:aa1:y1:ee')],
  ['too deep', b(`d1:ad2:id20:abcdefghij01234567891:x${'l'.repeat(20)}${'e'.repeat(20)}e1:q4:ping1:t2:aa1:y1:qe`)],
  ['too many tokens', b(`d1:ad2:id20:abcdefghij01234567891:xl${'i1e'.repeat(2100)}ee1:q4:ping1:t2:aa1:y1:qe`)],
  ['too large', Buffer.concat([b('d1:ad2:id20:abcdefghij01234567891:x4000:'), Buffer.alloc(4000), b('e1:q4:ping1:t2:aa1:y1:qe')])],
];

describe('KRPC: malformed packets', () => {
  for (const [name, bytes] of MALFORMED) {
    it(`refuses ${name} with KrpcError`, () => {
      assert.throws(() => decodeKrpc(bytes), (e: unknown) => e instanceof KrpcError && e.code === 'ERR_KRPC');
    });
  }

  it('accepts a packet of up to 2 × MAX_PACKET bytes and no more', () => {
    /** A valid ping of exactly `n` bytes, padded with an extra argument. */
    const fill = (n: number): Buffer => {
      const head = b('d1:ad2:id20:abcdefghij01234567891:x');
      const tail = b('e1:q4:ping1:t2:aa1:y1:qe');
      for (let len = n - head.length - tail.length; len > 0; len--) {
        if (head.length + `${len}:`.length + len + tail.length === n) return Buffer.concat([head, b(`${len}:`), Buffer.alloc(len, 0x41), tail]);
      }
      throw new Error(`cannot make a ${n}-byte ping`);
    };
    const ok = fill(MAX_PACKET * 2);
    assert.equal(ok.length, MAX_PACKET * 2);
    assert.equal(decodeKrpc(ok).y, 'q');
    const big = fill(MAX_PACKET * 2 + 1);
    assert.equal(big.length, MAX_PACKET * 2 + 1);
    assert.throws(() => decodeKrpc(big), KrpcError);
  });

  it('property: any bytes either decode to a well-formed message or throw KrpcError', () => {
    const valid = EXAMPLES.map(([, make]) => make());
    const mutated = fc
      .tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 6 }))
      .map(([base, muts]) => {
        const bytes = [...base];
        for (const [at, v, op] of muts) {
          const i = bytes.length === 0 ? 0 : at % bytes.length;
          if (op === 'set') bytes[i] = v;
          else if (op === 'insert') bytes.splice(i, 0, v);
          else bytes.splice(i, 1);
        }
        return Buffer.from(bytes);
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)), mutated), (bytes) => {
        let m: KrpcMessage;
        try {
          m = decodeKrpc(bytes);
        } catch (e) {
          assert.ok(e instanceof KrpcError, `threw ${String(e)}`);
          return;
        }
        assert.ok(m.t.length >= 1 && m.t.length <= 16);
        if (m.y === 'q') assert.ok(m.q.length >= 1 && m.q.length <= 32 && m.a instanceof Map);
        else if (m.y === 'r') assert.ok(m.r instanceof Map);
        else assert.equal(typeof m.code, 'number');
      }),
      { seed: 0x6b727063, numRuns: 3000 },
    );
  });
});
