/**
 * The IPv6 DHT (BEP 32): `nodes6` encoding, an IPv6 node answering with `nodes6`, IPv6 `values` and an
 * 18-byte `ip`, tables that keep to their own family, and a dual-stack pair answering `want` for
 * each other and helping each other bootstrap. (The IPv6 network at scale runs in test/sim.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCompactNodes6, encodeCompactNodes6 } from '../../src/dht/dht-node.js';
import { encodeResponse } from '../../src/dht/krpc.js';
import { validNodeId } from '../../src/dht/node-id.js';
import { decodeCompactIPv6, encodeCompactIPv6 } from '../../src/net/compact.js';
import type { PeerAddress } from '../../src/net/compact.js';
import { OUR_ID, addr, ask, befriend, drain, makeNode, responseOf } from './support/dht-helpers.js';

const addr6 = (i: number, port = 6881): PeerAddress => ({ host: `fd00::${i.toString(16)}`, port });
const idOf = (i: number): Buffer => Buffer.alloc(20, i);

describe('IPv6 DHT (BEP 32)', () => {
  it('nodes6: 38 bytes per node (id, address, port), round trip; IPv4 contacts are left out', () => {
    const nodes = [
      { id: idOf(1), addr: { host: '2001:db8::1', port: 6881 } },
      { id: idOf(2), addr: { host: 'fd00::abcd:1', port: 65535 } },
      { id: idOf(3), addr: { host: '10.0.0.1', port: 1 } },
    ];
    const b = encodeCompactNodes6(nodes);
    assert.equal(b.length, 2 * 38);
    assert.deepEqual(
      decodeCompactNodes6(b).map((n) => ({ id: n.id.toString('hex'), ...n.addr })),
      nodes.slice(0, 2).map((n) => ({ id: n.id.toString('hex'), ...n.addr })),
    );
    assert.deepEqual(decodeCompactNodes6(b.subarray(0, 37)), [], 'a truncated entry is dropped');
  });

  it('an IPv6 node answers find_node with nodes6 (not nodes) and an 18-byte ip; its table takes no IPv4 node', () => {
    const node = makeNode({ family: 6 });
    befriend(node, idOf(7), addr6(7), 1); // (lastReply 0 means never: start the clock at 1)
    assert.equal(node.table.size, 1);
    befriend(node, idOf(8), addr(8), 1);
    assert.equal(node.table.size, 1, 'an IPv4 node stays out of the IPv6 table');
    node.importNodes([{ id: idOf(9).toString('hex'), host: '10.0.0.9', port: 6881 }], 0);
    assert.equal(node.table.size, 1);
    const { reply } = ask(node, addr6(20), 'find_node', { id: idOf(20), target: idOf(7) }, 1);
    const r = responseOf(reply);
    assert.equal(r.get('nodes'), undefined);
    const n6 = decodeCompactNodes6(r.get('nodes6') as Buffer);
    assert.deepEqual(n6.map((n) => n.addr), [addr6(7)]);
    assert.ok(reply?.y === 'r' && reply.ip?.length === 18);
    assert.deepEqual(decodeCompactIPv6(reply.ip), [addr6(20)]);
  });

  it('announce_peer then get_peers on an IPv6 node: 18-byte values', () => {
    const node = makeNode({ family: 6 });
    const ih = Buffer.alloc(20, 0xab);
    const tok = responseOf(ask(node, addr6(30, 7000), 'get_peers', { id: idOf(30), info_hash: ih }, 0).reply).get('token') as Buffer;
    responseOf(ask(node, addr6(30, 7000), 'announce_peer', { id: idOf(30), info_hash: ih, port: 51413, token: tok }, 1).reply);
    const values = responseOf(ask(node, addr6(31), 'get_peers', { id: idOf(31), info_hash: ih }, 2).reply).get('values') as Buffer[];
    assert.equal(values.length, 1);
    assert.equal(values[0]!.length, 18);
    assert.deepEqual(decodeCompactIPv6(values[0]!), [addr6(30, 51413)]);
  });

  it('BEP 42 on IPv6: 4 distinct IPv6 responders naming our public address (18-byte ip) give us an id for its /64', () => {
    const node = makeNode({ family: 6 });
    const me = '2001:db8:aa:bb::42';
    for (let i = 1; i <= 4; i++) {
      const from = { host: `2001:db8:ff::${i}`, port: 6881 };
      node.ping(from, i);
      const q = drain(node).find((s) => s.msg.y === 'q' && s.msg.q === 'ping');
      assert.ok(q);
      node.handlePacket(encodeResponse(q.msg.t, { id: idOf(100 + i) }, { ip: encodeCompactIPv6([{ host: me, port: 6881 }]) }), from, i);
      assert.equal(node.getStats().idChanges, i < 4 ? 0 : 1);
    }
    assert.equal(node.externalAddress(), me);
    assert.ok(validNodeId(node.id, me));
    assert.ok(!validNodeId(node.id, '2001:db8:aa:bc::42'));
  });

  it('dual stack: paired nodes answer `want` n4/n6 from both tables; without want, only the own family', () => {
    const v4 = makeNode({ family: 4 });
    const v6 = makeNode({ family: 6 }, 0, 2);
    v4.pairWith(v6);
    befriend(v4, idOf(40), addr(40), 1);
    befriend(v6, idOf(60), addr6(60), 1);
    const target = idOf(50);
    const both = responseOf(ask(v4, addr(41), 'find_node', { id: idOf(41), target, want: ['n4', 'n6'] }, 1).reply);
    assert.deepEqual(
      decodeCompactNodes6(both.get('nodes6') as Buffer).map((n) => n.addr),
      [addr6(60)],
    );
    assert.ok(Buffer.isBuffer(both.get('nodes')) && (both.get('nodes') as Buffer).length === 26);
    const only6 = responseOf(ask(v4, addr(42), 'get_peers', { id: idOf(42), info_hash: target, want: ['n6'] }, 2).reply);
    assert.equal(only6.get('nodes'), undefined);
    assert.ok(Buffer.isBuffer(only6.get('nodes6')));
    const plain = responseOf(ask(v6, addr6(61), 'find_node', { id: idOf(61), target }, 3).reply);
    assert.equal(plain.get('nodes'), undefined);
    assert.ok(Buffer.isBuffer(plain.get('nodes6')));
    assert.throws(() => makeNode({ family: 4 }, 0, 3).pairWith(makeNode({ family: 4 }, 0, 4)), /different address families/);
  });

  it('dual stack bootstrap: lookups ask for both families while the other table is small, and the other node pings the nodes6 it is handed', () => {
    const v4 = makeNode({ family: 4, id: OUR_ID });
    const v6 = makeNode({ family: 6, id: OUR_ID }, 0, 2);
    v4.pairWith(v6);
    v4.bootstrap([addr(70)], 0);
    const q = drain(v4).find((s) => s.msg.y === 'q' && s.msg.q === 'find_node');
    assert.ok(q?.msg.y === 'q');
    const want = q.msg.a.get('want');
    assert.ok(Array.isArray(want));
    assert.deepEqual(want.map((w) => (w as Buffer).toString()), ['n4', 'n6']);
    // The bootstrap node answers with an IPv6 node: the IPv6 node pings it.
    v4.handlePacket(
      Buffer.from(
        `d1:rd2:id20:${'x'.repeat(20)}5:nodes0:6:nodes638:${'y'.repeat(20)}` + '\0'.repeat(15) + '\x01' + '\x1a\xe1' + 'e1:t2:' + q.msg.t.toString('latin1') + '1:y1:re',
        'latin1',
      ),
      addr(70),
      1,
    );
    const pings = drain(v6).filter((s) => s.msg.y === 'q' && s.msg.q === 'ping');
    assert.deepEqual(
      pings.map((p) => p.to),
      [{ host: '::1', port: 6881 }],
    );
  });
});
