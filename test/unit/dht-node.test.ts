/**
 * The pure DhtNode answering queries, driven directly with encoded KRPC packets and a fake `now`:
 * ping, find_node (≤ 8 nodes, confirmed ones only), get_peers / announce_peer (tokens, values,
 * implied_port), BEP 44 get / put (immutable and mutable: seq, cas, signature, size and salt errors),
 * BEP 51 sample_infohashes, unknown methods, BEP 43 read-only nodes; and the node as a client:
 * replies matched to transactions, timeouts, and BEP 44 items checked before they are believed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '../../src/bencode/index.js';
import type { BencodeValue } from '../../src/bencode/index.js';
import { decodeCompactNodes, QUERY_TIMEOUT_MS } from '../../src/dht/dht-node.js';
import type { LookupResult } from '../../src/dht/dht-node.js';
import { immutableTarget, keysFromSeed, mutableTarget, signMutable } from '../../src/dht/items.js';
import { decodeKrpc, encodeError, encodeResponse } from '../../src/dht/krpc.js';
import { BAD_FAILURES, GOOD_MS } from '../../src/dht/routing-table.js';
import { compareDistance } from '../../src/dht/node-id.js';
import { decodeCompactIPv4, encodeCompactIPv4 } from '../../src/net/compact.js';
import { OUR_ID, addr, answerAll, ask, befriend, drain, errorOf, idAtPrefix, makeNode, responseOf } from './support/dht-helpers.js';
import { seededRng } from './support/swarm-helpers.js';

const MIN = 60_000;
const buf = (m: Map<string, unknown>, k: string): Buffer => {
  const v = m.get(k);
  assert.ok(Buffer.isBuffer(v), `${k} is not a byte string`);
  return v;
};

function randomId(rnd: () => number): Buffer {
  return Buffer.from(Array.from({ length: 20 }, () => Math.floor(rnd() * 256)));
}

describe('DhtNode answers queries', () => {
  it("ping: answers with its id and the requester's address (BEP 42 ip); pings a newcomer back", () => {
    const node = makeNode({ version: Buffer.from('SH01') });
    const id = randomId(seededRng(1));
    const { reply, others } = ask(node, addr(1), 'ping', { id }, 0);
    const r = responseOf(reply);
    assert.deepEqual(buf(r, 'id'), OUR_ID);
    assert.ok(reply?.y === 'r');
    assert.deepEqual(reply.ip, encodeCompactIPv4([addr(1)]));
    assert.deepEqual(reply.v, Buffer.from('SH01'));
    assert.equal(others.length, 1);
    assert.ok(others[0]!.msg.y === 'q' && others[0]!.msg.q === 'ping', 'the newcomer is pinged before being vouched for');
    assert.equal(node.table.find(id)?.lastReply, 0, 'in the table, unconfirmed');
    // A second query from it: known, no second ping.
    assert.equal(ask(node, addr(1), 'ping', { id }, 10).others.length, 0);
  });

  it('a query without a 20-byte id gets a protocol error (203)', () => {
    const node = makeNode();
    assert.equal(errorOf(ask(node, addr(1), 'ping', {}, 0).reply).code, 203);
    assert.equal(errorOf(ask(node, addr(1), 'ping', { id: Buffer.alloc(19) }, 0).reply).code, 203);
    assert.equal(node.table.size, 0);
  });

  it('find_node: at most 8 nodes, closest first, only nodes that answered us', () => {
    const rnd = seededRng(2);
    const node = makeNode();
    const confirmed: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const id = idAtPrefix(OUR_ID, i % 10, rnd);
      befriend(node, id, addr(i + 1), 1);
      confirmed.push(id);
    }
    const unconfirmed: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const id = idAtPrefix(OUR_ID, i % 10, rnd);
      ask(node, addr(100 + i), 'ping', { id }, 0); // never answers our ping
      unconfirmed.push(id);
    }
    const confirmedHex = new Set(confirmed.map((x) => x.toString('hex')));
    assert.ok(node.table.all().some((n) => !confirmedHex.has(n.id.toString('hex'))), 'unconfirmed nodes are in the table');
    for (let q = 0; q < 20; q++) {
      const target = q < 10 ? idAtPrefix(OUR_ID, q, rnd) : unconfirmed[q]!;
      const r = responseOf(ask(node, addr(200), 'find_node', { id: randomId(rnd), target }, 1).reply);
      const nodes = decodeCompactNodes(buf(r, 'nodes'));
      assert.equal(buf(r, 'nodes').length % 26, 0);
      assert.ok(nodes.length <= 8 && nodes.length > 0);
      for (const n of nodes) assert.ok(confirmedHex.has(n.id.toString('hex')), 'an unconfirmed node was handed out');
      for (let i = 1; i < nodes.length; i++) assert.ok(compareDistance(target, nodes[i - 1]!.id, nodes[i]!.id) < 0, 'not closest first');
      const want = confirmed.filter((id) => node.table.find(id)).sort((a, b) => compareDistance(target, a, b)).slice(0, 8);
      assert.deepEqual(nodes.map((n) => n.id.toString('hex')), want.map((x) => x.toString('hex')));
    }
    assert.equal(errorOf(ask(node, addr(200), 'find_node', { id: randomId(rnd) }, 1).reply).code, 203, 'no target');
  });

  it('get_peers and announce_peer: token, values, implied_port, bad tokens refused', () => {
    const rnd = seededRng(3);
    const node = makeNode();
    for (let i = 0; i < 10; i++) befriend(node, randomId(rnd), addr(i + 1), 1);
    const ih = randomId(rnd);
    const a = addr(50, 7000);
    const r1 = responseOf(ask(node, a, 'get_peers', { id: randomId(rnd), info_hash: ih }, 0).reply);
    const token = buf(r1, 'token');
    assert.ok(token.length > 0);
    assert.equal(r1.get('values'), undefined, 'no peers yet');
    assert.ok(decodeCompactNodes(buf(r1, 'nodes')).length > 0, 'closer nodes instead');

    const annId = randomId(rnd);
    // Bad token, token for another IP, bad port: refused with 203 and nothing stored.
    assert.equal(errorOf(ask(node, a, 'announce_peer', { id: annId, info_hash: ih, port: 6881, token: Buffer.from('nonsense') }, 1).reply).code, 203);
    assert.equal(errorOf(ask(node, addr(51), 'announce_peer', { id: randomId(rnd), info_hash: ih, port: 6881, token }, 1).reply).code, 203);
    assert.equal(errorOf(ask(node, a, 'announce_peer', { id: annId, info_hash: ih, port: 0, token }, 1).reply).code, 203);
    assert.equal(errorOf(ask(node, a, 'announce_peer', { id: annId, info_hash: ih, token }, 1).reply).code, 203, 'no port');
    assert.equal(errorOf(ask(node, a, 'announce_peer', { id: annId, port: 6881, token }, 1).reply).code, 203, 'no info_hash');
    assert.equal(node.getStats().storedPeers, 0);

    // Good token.
    const ok = responseOf(ask(node, a, 'announce_peer', { id: annId, info_hash: ih, port: 6881, token }, 2).reply);
    assert.deepEqual(buf(ok, 'id'), OUR_ID);
    // implied_port: the source port is used, the port argument ignored.
    const b = addr(52, 9999);
    const tb = buf(responseOf(ask(node, b, 'get_peers', { id: randomId(rnd), info_hash: ih }, 3).reply), 'token');
    responseOf(ask(node, b, 'announce_peer', { id: randomId(rnd), info_hash: ih, port: 1234, implied_port: 1, token: tb }, 3).reply);

    const r2 = responseOf(ask(node, addr(60), 'get_peers', { id: randomId(rnd), info_hash: ih }, 4).reply);
    const values = r2.get('values') as BencodeValue[];
    assert.ok(Array.isArray(values));
    const peers = values.flatMap((v) => decodeCompactIPv4(v as Buffer));
    assert.deepEqual(
      peers.map((p) => `${p.host}:${p.port}`).sort(),
      [`${a.host}:6881`, `${b.host}:9999`].sort(),
    );
    assert.equal(node.getStats().storedPeers, 2);

    // The token is accepted for 5 minutes, and refused after 10.
    const c = addr(53);
    const tc = buf(responseOf(ask(node, c, 'get_peers', { id: randomId(rnd), info_hash: ih }, 5).reply), 'token');
    responseOf(ask(node, c, 'announce_peer', { id: randomId(rnd), info_hash: ih, port: 1, token: tc }, 5 + 5 * MIN - 1).reply);
    assert.equal(errorOf(ask(node, c, 'announce_peer', { id: randomId(rnd), info_hash: ih, port: 2, token: tc }, 5 + 10 * MIN).reply).code, 203);

    // Peers expire after 30 minutes.
    const late = responseOf(ask(node, addr(61), 'get_peers', { id: randomId(rnd), info_hash: ih }, 2 + 30 * MIN + 1).reply);
    const lateValues = (late.get('values') as Buffer[] | undefined) ?? [];
    assert.ok(!lateValues.some((v) => decodeCompactIPv4(v).some((p) => p.port === 6881)), 'an expired peer was handed out');
  });

  it('get_peers hands out at most 50 peers, and the answer stays under a UDP packet', () => {
    const rnd = seededRng(4);
    const node = makeNode({ queriesPerIpPerSec: 1e9 });
    const ih = randomId(rnd);
    for (let i = 0; i < 120; i++) {
      const from = addr(1000 + i);
      const token = buf(responseOf(ask(node, from, 'get_peers', { id: randomId(rnd), info_hash: ih }, 0).reply), 'token');
      responseOf(ask(node, from, 'announce_peer', { id: randomId(rnd), info_hash: ih, port: 6881, token }, 0).reply);
    }
    node.handlePacket(
      Buffer.from(`d1:ad2:id20:${'x'.repeat(20)}9:info_hash20:${ih.toString('latin1')}e1:q9:get_peers1:t2:gp1:y1:qe`, 'latin1'),
      addr(2000),
      1,
    );
    const out = drain(node).find((s) => s.msg.y === 'r')!;
    assert.ok(out.bytes.length <= 1500, `${out.bytes.length} bytes`);
    assert.ok(out.msg.y === 'r');
    assert.equal((out.msg.r.get('values') as Buffer[]).length, 50);
  });

  it('BEP 44 immutable: get gives a token; put stores under SHA-1(v); get returns v byte for byte; v > 1000 bytes: 205', () => {
    const rnd = seededRng(5);
    const node = makeNode();
    const from = addr(7);
    const v = encode({ hello: 'world', n: [1, 2, 3] });
    const target = immutableTarget(v);
    const g1 = responseOf(ask(node, from, 'get', { id: randomId(rnd), target }, 0).reply);
    const token = buf(g1, 'token');
    assert.equal(g1.get('v'), undefined);
    assert.equal(errorOf(ask(node, from, 'put', { id: randomId(rnd), token: Buffer.from('bad'), v: { hello: 'world', n: [1, 2, 3] } }, 0).reply).code, 203, 'bad token');
    assert.equal(errorOf(ask(node, from, 'put', { id: randomId(rnd), token }, 0).reply).code, 203, 'no v');
    responseOf(ask(node, from, 'put', { id: randomId(rnd), token, v: { hello: 'world', n: [1, 2, 3] } }, 0).reply);
    const g2 = responseOf(ask(node, addr(8), 'get', { id: randomId(rnd), target }, 1).reply);
    assert.deepEqual(encode(g2.get('v') as BencodeValue), v);
    assert.equal(g2.get('k'), undefined);
    assert.equal(g2.get('sig'), undefined);

    const big = Buffer.alloc(1000, 0x61); // "1000:aaa…" is 1005 bytes bencoded
    assert.equal(errorOf(ask(node, from, 'put', { id: randomId(rnd), token, v: big }, 2).reply).code, 205);
    const fits = Buffer.alloc(995, 0x61); // "995:…" is exactly 1000 bytes
    responseOf(ask(node, from, 'put', { id: randomId(rnd), token, v: fits }, 2).reply);
    const g3 = responseOf(ask(node, from, 'get', { id: randomId(rnd), target: immutableTarget(encode(fits)) }, 3).reply);
    assert.deepEqual(g3.get('v'), fits);
    // Items expire after 2 hours.
    const g4 = responseOf(ask(node, addr(9), 'get', { id: randomId(rnd), target }, 2 * 60 * MIN + 1).reply);
    assert.equal(g4.get('v'), undefined);
  });

  describe('BEP 44 mutable', () => {
    const keys = keysFromSeed(Buffer.alloc(32, 7));
    const salt = Buffer.from('my salt');
    const item = (seq: number, text: string, s: Buffer | undefined = undefined): { v: Buffer; sig: Buffer; seq: number } => {
      const v = encode(text);
      return { v, sig: signMutable(keys.seed, v, seq, s), seq };
    };
    const putArgs = (id: Buffer, token: Buffer, it: { v: Buffer; sig: Buffer; seq: number }, extra: Record<string, number | Buffer> = {}): Record<string, BencodeValue | string | number> => ({
      id,
      token,
      k: keys.publicKey,
      seq: it.seq,
      sig: it.sig,
      v: decodeKrpcValue(it.v),
      ...extra,
    });

    it('stores under SHA-1(k ‖ salt); get returns k, seq, sig, v; seq must grow (302); cas must match (301)', () => {
      const rnd = seededRng(6);
      const node = makeNode();
      const from = addr(10);
      for (const s of [undefined, salt]) {
        const target = mutableTarget(keys.publicKey, s);
        const token = buf(responseOf(ask(node, from, 'get', { id: randomId(rnd), target }, 0).reply), 'token');
        const sx: Record<string, Buffer> = s ? { salt: s } : {};
        const v1 = item(5, 'five', s);
        responseOf(ask(node, from, 'put', putArgs(randomId(rnd), token, v1, sx), 0).reply);
        const g = responseOf(ask(node, addr(11), 'get', { id: randomId(rnd), target }, 1).reply);
        assert.deepEqual(buf(g, 'k'), keys.publicKey);
        assert.equal(g.get('seq'), 5);
        assert.deepEqual(buf(g, 'sig'), v1.sig);
        assert.deepEqual(encode(g.get('v') as BencodeValue), v1.v);

        assert.equal(errorOf(ask(node, from, 'put', putArgs(randomId(rnd), token, item(4, 'four', s), sx), 2).reply).code, 302, 'lower seq');
        responseOf(ask(node, from, 'put', putArgs(randomId(rnd), token, v1, sx), 2).reply); // the same item again: a refresh
        assert.equal(errorOf(ask(node, from, 'put', putArgs(randomId(rnd), token, item(7, 'seven', s), { ...sx, cas: 6 }), 3).reply).code, 301, 'cas mismatch');
        const v7 = item(7, 'seven', s);
        responseOf(ask(node, from, 'put', putArgs(randomId(rnd), token, v7, { ...sx, cas: 5 }), 3).reply);
        const g2 = responseOf(ask(node, addr(11), 'get', { id: randomId(rnd), target }, 4).reply);
        assert.equal(g2.get('seq'), 7);
        assert.deepEqual(encode(g2.get('v') as BencodeValue), v7.v);

        // get with seq: the value only if it is newer than that.
        const g3 = responseOf(ask(node, addr(11), 'get', { id: randomId(rnd), target, seq: 7 }, 5).reply);
        assert.equal(g3.get('seq'), 7);
        assert.equal(g3.get('v'), undefined);
        assert.equal(g3.get('sig'), undefined);
        assert.equal(g3.get('k'), undefined);
        const g4 = responseOf(ask(node, addr(11), 'get', { id: randomId(rnd), target, seq: 6 }, 5).reply);
        assert.deepEqual(encode(g4.get('v') as BencodeValue), v7.v);
      }
      assert.equal(node.getStats().storedItems, 2, 'salted and unsalted are different targets');
    });

    it('bad signature: 206; salt over 64 bytes: 207; v over 1000 bytes: 205; nothing stored', () => {
      const rnd = seededRng(7);
      const node = makeNode();
      const from = addr(12);
      const token = buf(responseOf(ask(node, from, 'get', { id: randomId(rnd), target: mutableTarget(keys.publicKey) }, 0).reply), 'token');
      const good = item(1, 'one');
      const badSig = { ...good, sig: Buffer.from(good.sig) };
      badSig.sig[0]! ^= 1;
      assert.equal(errorOf(ask(node, from, 'put', putArgs(randomId(rnd), token, badSig), 0).reply).code, 206);
      assert.equal(errorOf(ask(node, from, 'put', putArgs(randomId(rnd), token, { ...good, seq: 2 }), 0).reply).code, 206, 'signature over another seq');
      assert.equal(errorOf(ask(node, from, 'put', putArgs(randomId(rnd), token, good, { salt: Buffer.from('x') }), 0).reply).code, 206, 'signed without that salt');
      const longSalt = Buffer.alloc(65, 0x73);
      assert.equal(errorOf(ask(node, from, 'put', putArgs(randomId(rnd), token, item(1, 'one', longSalt), { salt: longSalt }), 0).reply).code, 207);
      const salt64 = Buffer.alloc(64, 0x73);
      responseOf(ask(node, from, 'put', putArgs(randomId(rnd), token, item(1, 'one', salt64), { salt: salt64 }), 0).reply);
      const bigV = encode('x'.repeat(1000));
      assert.equal(errorOf(ask(node, from, 'put', putArgs(randomId(rnd), token, { v: bigV, seq: 1, sig: signMutable(keys.seed, bigV, 1) }), 0).reply).code, 205);
      assert.equal(node.getStats().storedItems, 1);
    });
  });

  it('BEP 51 sample_infohashes: samples of stored info-hashes, num, interval, nodes', () => {
    const rnd = seededRng(8);
    const node = makeNode();
    for (let i = 0; i < 5; i++) befriend(node, randomId(rnd), addr(i + 1), 1);
    const empty = responseOf(ask(node, addr(30), 'sample_infohashes', { id: randomId(rnd), target: randomId(rnd) }, 0).reply);
    assert.deepEqual(buf(empty, 'samples'), Buffer.alloc(0), 'samples present even when empty');
    assert.equal(empty.get('num'), 0);
    const hashes = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const ih = randomId(rnd);
      hashes.add(ih.toString('hex'));
      const from = addr(100 + i);
      const token = buf(responseOf(ask(node, from, 'get_peers', { id: randomId(rnd), info_hash: ih }, 1).reply), 'token');
      responseOf(ask(node, from, 'announce_peer', { id: randomId(rnd), info_hash: ih, port: 6881, token }, 1).reply);
    }
    const r = responseOf(ask(node, addr(31), 'sample_infohashes', { id: randomId(rnd), target: randomId(rnd) }, 2).reply);
    const samples = buf(r, 'samples');
    assert.equal(samples.length % 20, 0);
    assert.ok(samples.length / 20 >= 1 && samples.length / 20 <= 30);
    for (let i = 0; i < samples.length; i += 20) assert.ok(hashes.has(samples.subarray(i, i + 20).toString('hex')), 'a sample not stored here');
    assert.equal(r.get('num'), 30);
    const interval = r.get('interval');
    assert.ok(typeof interval === 'number' && interval >= 0 && interval <= 21600);
    assert.ok(decodeCompactNodes(buf(r, 'nodes')).length > 0);
    assert.equal(errorOf(ask(node, addr(31), 'sample_infohashes', { id: randomId(rnd) }, 2).reply).code, 203, 'no target');
  });

  it('an unknown method gets 204', () => {
    const node = makeNode();
    const e = errorOf(ask(node, addr(1), 'frobnicate', { id: randomId(seededRng(9)) }, 0).reply);
    assert.equal(e.code, 204);
  });

  describe('BEP 43 read-only', () => {
    it('a read-only node answers no query at all, and its own queries carry ro=1', () => {
      const rnd = seededRng(10);
      const node = makeNode({ readOnly: true });
      for (const [q, a] of [
        ['ping', {}],
        ['find_node', { target: randomId(rnd) }],
        ['get_peers', { info_hash: randomId(rnd) }],
        ['get', { target: randomId(rnd) }],
        ['frobnicate', {}],
      ] as const) {
        const out = ask(node, addr(1), q, { id: randomId(rnd), ...a }, 0);
        assert.equal(out.reply, undefined, q);
        assert.equal(out.others.length, 0, q);
      }
      assert.equal(node.table.size, 0);
      node.ping(addr(2), 0);
      node.findNode(randomId(rnd), 0, () => {});
      const sent = drain(node);
      assert.ok(sent.length >= 1);
      for (const s of sent) {
        assert.ok(s.msg.y === 'q' && s.msg.ro, 'query without ro=1');
        assert.ok(s.bytes.includes(Buffer.from('2:roi1e')));
      }
      // It still takes answers to its own queries.
      const peer = randomId(rnd);
      answerAll(node, sent, addr(2), peer, 1);
      assert.ok(node.table.find(peer));
    });

    it('a node answers ro=1 queries but does not add (or ping) the sender', () => {
      const rnd = seededRng(11);
      const node = makeNode();
      befriend(node, randomId(rnd), addr(1), 1);
      const roId = randomId(rnd);
      const out = ask(node, addr(2), 'find_node', { id: roId, target: randomId(rnd) }, 0, { readOnly: true });
      assert.ok(decodeCompactNodes(buf(responseOf(out.reply), 'nodes')).length === 1);
      assert.equal(out.others.length, 0, 'no ping to a read-only node');
      assert.equal(node.table.find(roId), undefined);
      assert.equal(node.table.size, 1);
      const out2 = ask(node, addr(3), 'ping', { id: randomId(rnd) }, 0, { readOnly: true });
      responseOf(out2.reply);
      assert.equal(node.table.size, 1);
    });
  });
});

describe('DhtNode as a client', () => {
  it('a reply counts only from the address the query went to; unknown transactions are dropped', () => {
    const rnd = seededRng(12);
    const node = makeNode();
    let result: boolean | undefined;
    node.ping(addr(1), 0, (ok) => (result = ok));
    const [q] = drain(node);
    assert.ok(q && q.msg.y === 'q' && q.msg.q === 'ping');
    const id = randomId(rnd);
    const before = node.getStats().malformed;
    node.handlePacket(encodeResponse(q.msg.t, { id }), addr(2), 1); // wrong host
    node.handlePacket(encodeResponse(q.msg.t, { id }), addr(1, 9999), 1); // wrong port
    node.handlePacket(encodeResponse(Buffer.from('zz'), { id }), addr(1), 1); // unknown transaction
    assert.equal(node.getStats().malformed, before + 3);
    assert.equal(result, undefined);
    node.handlePacket(encodeResponse(q.msg.t, { id }), addr(1), 2);
    assert.equal(result, true);
    assert.ok(node.table.find(id));
    // The transaction is closed: a duplicate answer is dropped.
    node.handlePacket(encodeResponse(q.msg.t, { id }), addr(1), 3);
    assert.equal(node.getStats().malformed, before + 4);
  });

  it('a node that answers our ping is recorded as answering at the time of its answer (and so confirmed)', () => {
    const node = makeNode();
    const id = randomId(seededRng(15));
    node.ping(addr(1), 1000);
    const [q] = drain(node);
    node.handlePacket(encodeResponse(q!.msg.t, { id }), addr(1), 1100);
    assert.equal(node.table.find(id)?.lastSeen, 1100, 'lastSeen is the time of the answer');
    assert.equal(node.table.find(id)?.lastReply, 1100, 'lastReply is the time of the answer');
    // At time 0 (a simulation's start), the answer must still confirm the node.
    const node0 = makeNode();
    node0.ping(addr(2), 0);
    const [q0] = drain(node0);
    node0.handlePacket(encodeResponse(q0!.msg.t, { id }), addr(2), 80);
    assert.equal(node0.table.closest(id, 8, true).length, 1, 'a node that answered is not handed out as confirmed');
  });

  it('maintenance: every questionable node gets pinged; nodes that never answer go bad, are not handed out, and are not pinged every 5 s for ever', () => {
    const rnd = seededRng(16);
    const node = makeNode({}, 1);
    const dead = Array.from({ length: 10 }, (_, i) => ({ id: randomId(rnd), at: addr(i + 1) }));
    for (const d of dead) befriend(node, d.id, d.at, 1);
    assert.equal(node.table.closest(OUR_ID, 100, true).length, 10);
    // Fifteen minutes on they are questionable; for five more minutes maintenance runs and nobody answers.
    const pinged = new Map<string, number>();
    const end = 1 + GOOD_MS + 5 * MIN;
    for (let now = 1 + GOOD_MS; now < end; now += 1000) {
      node.handleTimeout(now);
      for (const s of drain(node)) if (s.msg.y === 'q' && s.msg.q === 'ping') pinged.set(s.to.host, (pinged.get(s.to.host) ?? 0) + 1);
    }
    assert.equal(pinged.size, 10, `only ${pinged.size} of 10 questionable nodes were pinged (${[...pinged.values()].join(',')} pings each)`);
    const r = responseOf(ask(node, addr(99), 'find_node', { id: randomId(rnd), target: randomId(rnd) }, end).reply);
    assert.equal(decodeCompactNodes(buf(r, 'nodes')).length, 0, 'nodes that failed every ping are still handed out');
    // BEP 5: a node that fails to respond to several queries in a row is bad — pings count.
    for (const d of dead) {
      const e = node.table.find(d.id);
      if (e) assert.ok(e.failures >= BAD_FAILURES, `${e.addr.host} failed ${pinged.get(e.addr.host)} pings but has ${e.failures} failures`);
    }
    // And a node that does not answer is not pinged every few seconds for ever.
    const most = Math.max(...pinged.values());
    assert.ok(most <= 20, `a dead node was pinged ${most} times in 5 minutes`);
  });

  it('an unanswered query times out after QUERY_TIMEOUT_MS; an error reply ends it too', () => {
    const node = makeNode();
    const results: boolean[] = [];
    node.ping(addr(1), 0, (ok) => results.push(ok));
    node.ping(addr(2), 0, (ok) => results.push(ok));
    const sent = drain(node);
    assert.ok(node.nextDeadline()! <= QUERY_TIMEOUT_MS);
    node.handlePacket(encodeError(sent[1]!.msg.t, 201, 'nope'), addr(2), 10);
    assert.deepEqual(results, [false]);
    node.handleTimeout(QUERY_TIMEOUT_MS - 1);
    assert.deepEqual(results, [false]);
    node.handleTimeout(QUERY_TIMEOUT_MS);
    assert.deepEqual(results, [false, false]);
    assert.equal(node.getStats().timeouts, 1);
    assert.equal(node.getStats().errorsIn, 1);
  });

  it('BEP 44 get: only items that check out are believed, and the highest seq wins', () => {
    const rnd = seededRng(13);
    const node = makeNode();
    const peers = Array.from({ length: 5 }, (_, i) => ({ id: randomId(rnd), at: addr(i + 1) }));
    for (const p of peers) befriend(node, p.id, p.at, 1);
    const keys = keysFromSeed(Buffer.alloc(32, 9));
    const other = keysFromSeed(Buffer.alloc(32, 10));
    const target = mutableTarget(keys.publicKey);
    let result: LookupResult | undefined;
    node.get(target, 1, (r) => (result = r), { k: keys.publicKey });
    const sent = drain(node).filter((s) => s.msg.y === 'q' && s.msg.q === 'get');
    assert.equal(sent.length, 4, 'alpha = 4 queries first');
    const answer = (i: number, seq: number, text: string, signer = keys, key = keys.publicKey): void => {
      const v = encode(text);
      const s = sent[i]!;
      node.handlePacket(
        encodeResponse(s.msg.t, { id: peers.find((p) => p.at.host === s.to.host)!.id, token: 'tok', k: key, seq, sig: signMutable(signer.seed, v, seq), v: decodeKrpcValue(v) }),
        s.to,
        2,
      );
    };
    answer(0, 5, 'five');
    answer(1, 99, 'forged', other); // signed by another key, claiming ours
    answer(2, 50, 'other key', other, other.publicKey); // a different key altogether
    answer(3, 7, 'seven');
    // The fifth node is asked as the others answer; answer everything left.
    for (let round = 0; round < 5 && !result; round++) {
      for (const s of drain(node)) {
        if (s.msg.y !== 'q') continue;
        const p = peers.find((x) => x.at.host === s.to.host);
        if (p) node.handlePacket(encodeResponse(s.msg.t, { id: p.id, token: 'tok' }), s.to, 3);
      }
      node.handleTimeout(3 + round * 3000);
    }
    assert.ok(result, 'the get finished');
    assert.equal(result.item?.seq, 7);
    assert.deepEqual(result.item?.v, encode('seven'));
    assert.deepEqual(result.item?.k, keys.publicKey);
  });

  it('a lookup does not query our own id when an answer lists us', () => {
    const rnd = seededRng(17);
    const node = makeNode();
    const p = { id: randomId(rnd), at: addr(1) };
    befriend(node, p.id, p.at, 1);
    node.findNode(randomId(rnd), 2, () => {});
    const [q] = drain(node).filter((s) => s.msg.y === 'q');
    // The peer knows us (at the address it sees for us) and lists us among the closest.
    const us = Buffer.concat([OUR_ID, encodeCompactIPv4([{ host: '10.9.9.9', port: 6881 }])]);
    node.handlePacket(encodeResponse(q!.msg.t, { id: p.id, nodes: us }), p.at, 3);
    const next = drain(node).filter((s) => s.msg.y === 'q');
    assert.ok(!next.some((s) => s.to.host === '10.9.9.9'), 'queried itself');
  });

  it('BEP 44 get (immutable): a value that does not hash to the target is ignored', () => {
    const rnd = seededRng(14);
    const node = makeNode();
    const p = { id: randomId(rnd), at: addr(1) };
    befriend(node, p.id, p.at, 1);
    const v = encode('the real value');
    let result: LookupResult | undefined;
    node.get(immutableTarget(v), 1, (r) => (result = r));
    const [q] = drain(node).filter((s) => s.msg.y === 'q');
    node.handlePacket(encodeResponse(q!.msg.t, { id: p.id, token: 't', v: 'a fake value' }), p.at, 2);
    node.handleTimeout(10_000);
    assert.ok(result);
    assert.equal(result.item, undefined);
    let result2: LookupResult | undefined;
    node.get(immutableTarget(v), 20_000, (r) => (result2 = r));
    const [q2] = drain(node).filter((s) => s.msg.y === 'q');
    node.handlePacket(encodeResponse(q2!.msg.t, { id: p.id, token: 't', v: 'the real value' }), p.at, 20_001);
    node.handleTimeout(30_000);
    assert.deepEqual(result2?.item?.v, v);
  });
});

/** A bencoded value as a decoded value (what goes into a message). */
function decodeKrpcValue(v: Buffer): BencodeValue {
  const m = decodeKrpc(Buffer.concat([Buffer.from('d1:rd1:v'), v, Buffer.from('e1:t1:x1:y1:re')]));
  assert.ok(m.y === 'r');
  return m.r.get('v')!;
}
