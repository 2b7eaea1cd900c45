/**
 * The pure DhtNode's BEP 42 and BEP 33 behaviour, plus the lookup result stream and timings,
 * driven by hand with encoded KRPC packets and an explicit `now`:
 *
 *  - BEP 42: the node takes an id derived from its external address once at least 4 distinct
 *    answering IPs agree on it (the `ip` field) and the top address has at least twice the
 *    runner-up's votes; local addresses and `secureId: false` never change the id; the table
 *    survives the change and later queries carry the new id. `enforceNodeId` keeps nodes whose id
 *    does not fit their public address out of the table, while still answering them.
 *  - BEP 33 as a responder: BFsd / BFpe filters in get_peers answers when `scrape=1` and something
 *    is stored, `noseed=1` puts downloaders first, a re-announce updates the seed status.
 *  - BEP 33 as a requester: `scrape()` sends `scrape=1`, ORs the filters it gets, counts legacy
 *    `values` as downloaders unless a seed filter has them; `announce(..., { seed: true })` sends
 *    `seed=1`; a small network of real nodes counts seeds and downloaders end to end.
 *  - Streaming and timing: `onPeers` gets only new peers, once per answer that brings some;
 *    `resultMs` / `durationMs` for get_peers and find_node.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DhtNode, LookupResult, ScrapeResult } from '../../src/dht/dht-node.js';
import type { Encodable } from '../../src/bencode/index.js';
import { encodeResponse } from '../../src/dht/krpc.js';
import { secureNodeId, validNodeId } from '../../src/dht/node-id.js';
import { BLOOM_BYTES, ScrapeBloom } from '../../src/dht/scrape-bloom.js';
import { decodeCompactIPv4, encodeCompactIPv4 } from '../../src/net/compact.js';
import type { PeerAddress } from '../../src/net/compact.js';
import { OUR_ID, addr, ask, befriend, drain, idAtPrefix, makeNode, responseOf } from './support/dht-helpers.js';
import type { Sent } from './support/dht-helpers.js';
import { seededRng } from './support/swarm-helpers.js';

const PUBLIC_IP = '198.51.100.7';

function randomId(rnd: () => number): Buffer {
  return Buffer.from(Array.from({ length: 20 }, () => Math.floor(rnd() * 256)));
}

const pub = (i: number, port = 6881): PeerAddress => ({ host: `203.0.113.${i}`, port });
const compact = (host: string, port = 6881): Buffer => encodeCompactIPv4([{ host, port }]);
const key = (p: PeerAddress): string => `${p.host}:${p.port}`;

function argsOf(s: Sent): Map<string, unknown> {
  assert.ok(s.msg.y === 'q', `expected a query, got ${s.msg.y}`);
  return s.msg.a;
}

const queries = (sent: readonly Sent[], method?: string): Sent[] =>
  sent.filter((s) => s.msg.y === 'q' && (method === undefined || s.msg.q === method));

function bufArg(m: Map<string, unknown>, k: string): Buffer {
  const v = m.get(k);
  assert.ok(Buffer.isBuffer(v), `${k} is not a byte string`);
  return v;
}

function txOf(s: Sent): Buffer {
  return s.msg.t;
}

/**
 * The node pings `from`, which answers claiming to have seen us at `claimed` (BEP 42 `ip`): one vote.
 * Returns what the node sent after the answer.
 */
function voteVia(node: DhtNode, from: PeerAddress, responderId: Buffer, claimed: string, now: number): Sent[] {
  node.ping(from, now);
  const q = queries(drain(node), 'ping').find((s) => s.to.host === from.host && s.to.port === from.port);
  assert.ok(q, 'no ping was sent');
  node.handlePacket(encodeResponse(txOf(q), { id: responderId }, { ip: compact(claimed) }), from, now);
  return drain(node);
}

function bloomOf(hosts: readonly string[]): ScrapeBloom {
  const b = new ScrapeBloom();
  for (const h of hosts) b.insertIp(h);
  return b;
}

/** get_peers for a token, then announce_peer (with `seed: 1` when a seed); the announce must succeed. */
function announceTo(node: DhtNode, from: PeerAddress, ih: Buffer, seed: boolean, now: number, rnd: () => number): void {
  const id = randomId(rnd);
  const token = bufArg(responseOf(ask(node, from, 'get_peers', { id, info_hash: ih }, now).reply), 'token');
  responseOf(ask(node, from, 'announce_peer', { id, info_hash: ih, port: from.port, token, seed: seed ? 1 : undefined }, now).reply);
}

function valuesOf(r: Map<string, unknown>): PeerAddress[] {
  const v = r.get('values');
  if (v === undefined) return [];
  assert.ok(Array.isArray(v), 'values is not a list');
  return (v as Buffer[]).flatMap((x) => decodeCompactIPv4(x));
}

describe('BEP 42: a node id bound to the external address', () => {
  it('4 distinct responders agreeing on a public address: a BEP 42 id, the table kept, later queries carry it', () => {
    const rnd = seededRng(42);
    const node = makeNode({}, 0, 7);
    assert.ok(!validNodeId(OUR_ID, PUBLIC_IP), 'the starting id must not already fit the address');
    const contacts = Array.from({ length: 6 }, (_, i) => ({ id: randomId(rnd), at: i % 2 === 0 ? pub(i + 1) : { host: `198.51.100.${i + 20}`, port: 6881 } }));
    node.importNodes(contacts.map((c) => ({ id: c.id.toString('hex'), host: c.at.host, port: c.at.port })), 0);
    assert.equal(node.table.size, 6);

    node.findNode(randomId(rnd), 1000, () => {});
    let pending = queries(drain(node), 'find_node');
    assert.equal(pending.length, 4, 'alpha = 4 queries first');
    for (const s of pending) assert.deepEqual(bufArg(argsOf(s), 'id'), OUR_ID);

    const answered = new Set<string>();
    let after: Sent[] = [];
    for (let i = 0; i < 4; i++) {
      const s = pending[i]!;
      const c = contacts.find((x) => x.at.host === s.to.host)!;
      answered.add(c.at.host);
      node.handlePacket(encodeResponse(txOf(s), { id: c.id }, { ip: compact(PUBLIC_IP, 40000) }), s.to, 1010 + i);
      after = drain(node);
      if (i < 3) {
        assert.deepEqual(node.id, OUR_ID, `the id changed after only ${i + 1} voters`);
        assert.equal(node.getStats().idChanges, 0);
        assert.equal(node.externalAddress(), undefined);
        for (const q of queries(after)) assert.deepEqual(bufArg(argsOf(q), 'id'), OUR_ID);
      }
    }
    assert.notDeepEqual(node.id, OUR_ID, 'the id did not change after 4 distinct voters');
    assert.ok(validNodeId(node.id, PUBLIC_IP), 'the new id does not fit the external address');
    assert.equal(node.getStats().idChanges, 1);
    assert.equal(node.getStats().id, node.id.toString('hex'));
    assert.equal(node.externalAddress(), PUBLIC_IP);
    assert.deepEqual(node.table.ownId, node.id, 'the table is not built around the new id');
    for (const c of contacts) assert.ok(node.table.find(c.id), `contact ${c.at.host} lost in the id change`);
    assert.equal(node.table.size, 6);

    // Everything sent after the change (the rest of the lookup, a lookup of the new id) carries it.
    const later = queries(after);
    assert.ok(later.length > 0, 'nothing was queried after the change');
    for (const q of later) assert.deepEqual(bufArg(argsOf(q), 'id'), node.id, `a ${q.msg.y === 'q' ? q.msg.q : ''} query still carries the old id`);
    node.ping(pub(200), 1100);
    const [ping] = drain(node);
    assert.deepEqual(bufArg(argsOf(ping!), 'id'), node.id);
    // Our answers carry it too.
    assert.deepEqual(bufArg(responseOf(ask(node, pub(201), 'ping', { id: randomId(rnd) }, 1100).reply), 'id'), node.id);

    // More votes for the same address: the id stays put.
    const newId = Buffer.from(node.id);
    pending = queries(later).filter((s) => contacts.some((c) => c.at.host === s.to.host) && !answered.has(s.to.host));
    for (const s of pending) {
      const c = contacts.find((x) => x.at.host === s.to.host)!;
      node.handlePacket(encodeResponse(txOf(s), { id: c.id }, { ip: compact(PUBLIC_IP) }), s.to, 1200);
    }
    voteVia(node, { host: '198.51.100.99', port: 6881 }, randomId(rnd), PUBLIC_IP, 1300);
    assert.deepEqual(node.id, newId);
    assert.equal(node.getStats().idChanges, 1);
  });

  it('fewer than 4 distinct voters leave the id alone; the same responder voting many times counts once', () => {
    const rnd = seededRng(1);
    const node = makeNode();
    const ids = Array.from({ length: 5 }, () => randomId(rnd));
    // One responder votes five times, from five ports.
    for (let port = 7000; port < 7005; port++) voteVia(node, pub(1, port), ids[0]!, PUBLIC_IP, 10);
    voteVia(node, pub(2), ids[1]!, PUBLIC_IP, 20);
    voteVia(node, pub(3), ids[2]!, PUBLIC_IP, 30);
    voteVia(node, pub(3), ids[2]!, PUBLIC_IP, 31);
    assert.deepEqual(node.id, OUR_ID, 'three distinct voters changed the id');
    assert.equal(node.getStats().idChanges, 0);
    assert.equal(node.externalAddress(), undefined);
    // The fourth distinct voter tips it.
    voteVia(node, pub(4), ids[3]!, PUBLIC_IP, 40);
    assert.equal(node.externalAddress(), PUBLIC_IP);
    assert.ok(validNodeId(node.id, PUBLIC_IP));
    assert.equal(node.getStats().idChanges, 1);
  });

  it('split votes: the top address needs at least twice the runner-up', () => {
    const rnd = seededRng(2);
    const node = makeNode();
    const OTHER = '192.0.2.55';
    let n = 1;
    const vote = (claimed: string, now: number): Sent[] => voteVia(node, pub(n++), randomId(rnd), claimed, now);
    for (let i = 0; i < 3; i++) vote(OTHER, 10);
    for (let i = 0; i < 5; i++) vote(PUBLIC_IP, 20); // 5 against 3
    assert.deepEqual(node.id, OUR_ID, '5 votes against 3 changed the id');
    assert.equal(node.externalAddress(), undefined);
    assert.equal(node.getStats().idChanges, 0);
    vote(PUBLIC_IP, 30); // 6 against 3
    assert.equal(node.externalAddress(), PUBLIC_IP);
    assert.ok(validNodeId(node.id, PUBLIC_IP));
    assert.ok(!validNodeId(node.id, OTHER));
    assert.equal(node.getStats().idChanges, 1);
  });

  it('split votes, 6 voters each: neither address wins', () => {
    const rnd = seededRng(3);
    const node = makeNode();
    let n = 1;
    // Interleaved, so that neither reaches 4 while the other has fewer than 2.
    for (let i = 0; i < 6; i++) {
      voteVia(node, pub(n++), randomId(rnd), '192.0.2.55', 10);
      voteVia(node, pub(n++), randomId(rnd), PUBLIC_IP, 10);
    }
    assert.equal(node.externalAddress(), undefined);
    assert.deepEqual(node.id, OUR_ID);
    assert.equal(node.getStats().idChanges, 0);
  });

  for (const local of ['10.1.2.3', '192.168.1.20', '127.0.0.1', '172.20.0.5', '169.254.3.4']) {
    it(`votes for a local address (${local}) never change the id`, () => {
      const rnd = seededRng(4);
      const node = makeNode();
      for (let i = 1; i <= 8; i++) voteVia(node, pub(i), randomId(rnd), local, i);
      assert.deepEqual(node.id, OUR_ID);
      assert.equal(node.getStats().idChanges, 0);
    });
  }

  it('secureId: false disables the change', () => {
    const rnd = seededRng(5);
    const node = makeNode({ secureId: false });
    for (let i = 1; i <= 8; i++) voteVia(node, pub(i), randomId(rnd), PUBLIC_IP, i);
    assert.deepEqual(node.id, OUR_ID);
    assert.equal(node.getStats().idChanges, 0);
    // Control: the same votes change the id of a node with the default.
    const control = makeNode();
    const rnd2 = seededRng(5);
    for (let i = 1; i <= 8; i++) voteVia(control, pub(i), randomId(rnd2), PUBLIC_IP, i);
    assert.equal(control.getStats().idChanges, 1);
  });

  it('enforceNodeId: a public node whose id does not fit its address is answered but not added; a BEP 42 id is added', () => {
    const rnd = seededRng(6);
    const badAt = pub(50);
    const goodAt = pub(51);
    const bad = randomId(rnd);
    assert.ok(!validNodeId(bad, badAt.host));
    const good = secureNodeId(goodAt.host, randomId(rnd));
    assert.ok(validNodeId(good, goodAt.host));

    const node = makeNode({ enforceNodeId: true });
    const out = ask(node, badAt, 'ping', { id: bad }, 0);
    assert.deepEqual(bufArg(responseOf(out.reply), 'id'), OUR_ID, 'the query was not answered');
    assert.equal(node.table.find(bad), undefined, 'a node with a bad id entered the table');
    assert.equal(node.table.size, 0);
    assert.equal(queries(out.others).length, 0, 'a refused node was pinged');
    // A find_node from it is answered too.
    responseOf(ask(node, badAt, 'find_node', { id: bad, target: randomId(rnd) }, 1).reply);
    assert.equal(node.table.size, 0);

    responseOf(ask(node, goodAt, 'ping', { id: good }, 2).reply);
    assert.ok(node.table.find(good), 'a node with a BEP 42 id was kept out');
    assert.equal(node.table.size, 1);

    // A local address is exempt.
    const localId = randomId(rnd);
    responseOf(ask(node, addr(5), 'ping', { id: localId }, 3).reply);
    assert.ok(node.table.find(localId), 'a local node was kept out');

    // An answer to our own query from a bad id is not added either.
    const bad2 = randomId(rnd);
    assert.ok(!validNodeId(bad2, pub(52).host));
    voteVia(node, pub(52), bad2, PUBLIC_IP, 4);
    assert.equal(node.table.find(bad2), undefined, 'a bad id that answered us entered the table');

    // Without the option both enter.
    const open = makeNode();
    responseOf(ask(open, badAt, 'ping', { id: bad }, 0).reply);
    responseOf(ask(open, goodAt, 'ping', { id: good }, 0).reply);
    assert.ok(open.table.find(bad));
    assert.ok(open.table.find(good));
    assert.equal(open.table.size, 2);
  });
});

describe('BEP 33 as a responder', () => {
  const seedsAt = [pub(1, 7001), pub(2, 7002), pub(3, 7003)];
  const leechersAt = [{ host: '198.51.100.1', port: 8001 }, { host: '198.51.100.2', port: 8002 }];

  function stocked(rnd: () => number): { node: DhtNode; ih: Buffer } {
    const node = makeNode();
    const ih = randomId(rnd);
    // Seeds first, so that insertion order and the noseed order differ.
    for (const s of seedsAt) announceTo(node, s, ih, true, 0, rnd);
    for (const l of leechersAt) announceTo(node, l, ih, false, 0, rnd);
    assert.equal(node.getStats().storedPeers, 5);
    return { node, ih };
  }

  it('get_peers with scrape=1: BFsd and BFpe of 256 bytes, counting the seeds and the downloaders announced', () => {
    const rnd = seededRng(10);
    const { node, ih } = stocked(rnd);
    const r = responseOf(ask(node, addr(99), 'get_peers', { id: randomId(rnd), info_hash: ih, scrape: 1 }, 10).reply);
    const sd = bufArg(r, 'BFsd');
    const pe = bufArg(r, 'BFpe');
    assert.equal(sd.length, BLOOM_BYTES);
    assert.equal(pe.length, BLOOM_BYTES);
    const seeds = new ScrapeBloom(sd);
    const peers = new ScrapeBloom(pe);
    assert.equal(seeds.estimate(), 3);
    assert.equal(peers.estimate(), 2);
    for (const s of seedsAt) assert.ok(seeds.mayContainIp(s.host), `seed ${s.host} not in BFsd`);
    for (const l of leechersAt) assert.ok(peers.mayContainIp(l.host), `downloader ${l.host} not in BFpe`);
    // Bit for bit the BEP's filters of those addresses (the seeds only in BFsd, the downloaders only in BFpe).
    assert.deepEqual(sd, bloomOf(seedsAt.map((s) => s.host)).toBuffer());
    assert.deepEqual(pe, bloomOf(leechersAt.map((l) => l.host)).toBuffer());
    // The values and token are still there.
    assert.ok(bufArg(r, 'token').length > 0);
    assert.equal(valuesOf(r).length, 5);
  });

  it('get_peers without scrape has no filters; scrape=1 for an info-hash with nothing stored has none either', () => {
    const rnd = seededRng(11);
    const { node, ih } = stocked(rnd);
    const plain = responseOf(ask(node, addr(98), 'get_peers', { id: randomId(rnd), info_hash: ih }, 10).reply);
    assert.equal(plain.has('BFsd'), false);
    assert.equal(plain.has('BFpe'), false);
    assert.equal(valuesOf(plain).length, 5);
    const none = responseOf(ask(node, addr(97), 'get_peers', { id: randomId(rnd), info_hash: randomId(rnd), scrape: 1 }, 10).reply);
    assert.equal(none.has('BFsd'), false);
    assert.equal(none.has('BFpe'), false);
    assert.equal(none.has('values'), false);
    assert.ok(bufArg(none, 'token').length > 0, 'a token is still given');
  });

  it('noseed=1: the downloaders come first, the seeds fill up after them', () => {
    const rnd = seededRng(12);
    const { node, ih } = stocked(rnd);
    const plain = valuesOf(responseOf(ask(node, addr(98), 'get_peers', { id: randomId(rnd), info_hash: ih }, 10).reply));
    assert.deepEqual(plain.map(key).sort(), [...seedsAt, ...leechersAt].map(key).sort());
    const noseed = valuesOf(responseOf(ask(node, addr(97), 'get_peers', { id: randomId(rnd), info_hash: ih, noseed: 1 }, 10).reply));
    assert.equal(noseed.length, 5);
    assert.deepEqual(noseed.slice(0, 2).map(key).sort(), leechersAt.map(key).sort(), 'the first values are not the downloaders');
    assert.deepEqual(noseed.slice(2).map(key).sort(), seedsAt.map(key).sort());
  });

  it('a re-announce updates the seed status: a downloader that finishes counts as a seed only', () => {
    const rnd = seededRng(13);
    const node = makeNode();
    const ih = randomId(rnd);
    const p = pub(9, 7009);
    announceTo(node, p, ih, false, 0, rnd);
    let r = responseOf(ask(node, addr(98), 'get_peers', { id: randomId(rnd), info_hash: ih, scrape: 1 }, 1).reply);
    assert.equal(new ScrapeBloom(bufArg(r, 'BFsd')).estimate(), 0);
    assert.equal(new ScrapeBloom(bufArg(r, 'BFpe')).estimate(), 1);
    announceTo(node, p, ih, true, 2, rnd);
    r = responseOf(ask(node, addr(97), 'get_peers', { id: randomId(rnd), info_hash: ih, scrape: 1 }, 3).reply);
    assert.equal(new ScrapeBloom(bufArg(r, 'BFsd')).estimate(), 1);
    assert.equal(new ScrapeBloom(bufArg(r, 'BFpe')).estimate(), 0);
    assert.equal(node.getStats().storedPeers, 1);
  });
});

describe('BEP 33 as a requester', () => {
  it('scrape(): get_peers with scrape=1; the union of the filters, legacy values as downloaders unless a seed filter has them', () => {
    const rnd = seededRng(20);
    const node = makeNode();
    const contacts = Array.from({ length: 4 }, (_, i) => ({ id: randomId(rnd), at: addr(i + 1) }));
    for (const c of contacts) befriend(node, c.id, c.at, 1);
    const ih = randomId(rnd);
    let result: (LookupResult & ScrapeResult) | undefined;
    node.scrape(ih, 100, (r) => (result = r));
    const sent = queries(drain(node), 'get_peers');
    assert.equal(sent.length, 4);
    for (const s of sent) {
      assert.equal(argsOf(s).get('scrape'), 1, 'get_peers without scrape=1');
      assert.deepEqual(bufArg(argsOf(s), 'info_hash'), ih);
    }
    const [s1, s2, s3] = ['192.0.2.1', '192.0.2.2', '192.0.2.3'];
    const [p1, p2, p3] = ['198.51.100.11', '198.51.100.12', '198.51.100.13'];
    const idOf = (s: Sent): Buffer => contacts.find((c) => c.at.host === s.to.host)!.id;
    const answer = (s: Sent, r: Record<string, Encodable | undefined>, now: number): void =>
      node.handlePacket(encodeResponse(txOf(s), { id: idOf(s), token: 'tk', ...r }), s.to, now);
    // The legacy answer first: whether its peers are seeds is only known once the filters are in.
    answer(sent[0]!, { values: [compact(p3, 1), compact(s1, 2)] }, 110);
    answer(sent[1]!, { BFsd: bloomOf([s1, s2]).toBuffer(), BFpe: bloomOf([p1]).toBuffer() }, 120);
    answer(sent[2]!, { BFsd: bloomOf([s2, s3]).toBuffer(), BFpe: bloomOf([p1, p2]).toBuffer(), values: [compact(p2, 3)] }, 130);
    assert.equal(result === undefined, true, 'done before every node answered');
    answer(sent[3]!, {}, 140); // nothing stored there
    assert.ok(result, 'the scrape did not finish');
    assert.equal(result.seeds, 3);
    assert.equal(result.downloaders, 3, 'p1, p2 and the legacy p3 (s1 is a seed, not a downloader)');
    assert.equal(result.filters, 2);
    assert.deepEqual(result.BFsd, bloomOf([s1, s2, s3]).toBuffer());
    assert.deepEqual(result.BFpe, bloomOf([p1, p2, p3]).toBuffer());
    assert.deepEqual(result.peers.map(key).sort(), [`${p3}:1`, `${s1}:2`, `${p2}:3`].sort());
  });

  it('announce(..., { seed: true }) sends announce_peer with seed=1; without it, no seed key', () => {
    for (const seed of [true, false]) {
      const rnd = seededRng(21);
      const node = makeNode();
      const contacts = Array.from({ length: 2 }, (_, i) => ({ id: randomId(rnd), at: addr(i + 1) }));
      for (const c of contacts) befriend(node, c.id, c.at, 1);
      const ih = randomId(rnd);
      let stored: number | undefined;
      node.announce(ih, 6881, false, 100, (r) => (stored = r.stored), seed ? { seed: true } : {});
      const gp = queries(drain(node), 'get_peers');
      assert.equal(gp.length, 2);
      for (const s of gp) {
        const c = contacts.find((x) => x.at.host === s.to.host)!;
        node.handlePacket(encodeResponse(txOf(s), { id: c.id, token: `tok-${c.at.host}` }), s.to, 110);
      }
      const ap = queries(drain(node), 'announce_peer');
      assert.equal(ap.length, 2, 'announce_peer to every node that gave a token');
      for (const s of ap) {
        const a = argsOf(s);
        if (seed) assert.equal(a.get('seed'), 1, 'a seed announced without seed=1');
        else assert.equal(a.has('seed'), false, 'a downloader announced with a seed key');
        assert.equal(a.get('port'), 6881);
        assert.deepEqual(bufArg(a, 'token'), Buffer.from(`tok-${s.to.host}`));
        assert.deepEqual(bufArg(a, 'info_hash'), ih);
        node.handlePacket(encodeResponse(txOf(s), { id: contacts.find((x) => x.at.host === s.to.host)!.id }), s.to, 120);
      }
      assert.equal(stored, 2);
    }
  });

  it('end to end: two seeds and a downloader announce to real nodes; a scrape from a fourth counts 2 and 1', () => {
    // A tiny network of pure nodes at local addresses (BEP 42 stays out of it), packets delivered at once.
    const nodes = new Map<string, DhtNode>();
    const at = new Map<DhtNode, PeerAddress>();
    const add = (i: number): DhtNode => {
      const n = makeNode({ id: randomId(seededRng(100 + i)) }, 0, 100 + i);
      const a = addr(i);
      nodes.set(key(a), n);
      at.set(n, a);
      return n;
    };
    const deliver = (now: number): void => {
      for (let rounds = 0; rounds < 100; rounds++) {
        let moved = false;
        for (const n of [...nodes.values()]) {
          let p;
          while ((p = n.pollTransmit()) !== undefined) {
            moved = true;
            nodes.get(key(p.to))?.handlePacket(p.bytes, at.get(n)!, now);
          }
        }
        if (!moved) return;
      }
      assert.fail('the network did not settle');
    };
    const storer = add(1);
    const seedA = add(2);
    const seedB = add(3);
    const leech = add(4);
    const scraper = add(5);
    for (const n of [seedA, seedB, leech, scraper]) {
      n.ping(at.get(storer)!, 1);
      deliver(1);
    }
    const ih = randomId(seededRng(99));
    const stored: number[] = [];
    seedA.announce(ih, 6881, false, 10, (r) => stored.push(r.stored), { seed: true });
    deliver(10);
    seedB.announce(ih, 6881, false, 20, (r) => stored.push(r.stored), { seed: true });
    deliver(20);
    leech.announce(ih, 6881, false, 30, (r) => stored.push(r.stored));
    deliver(30);
    assert.equal(stored.length, 3, 'an announce did not finish');
    for (const s of stored) assert.ok(s >= 1, 'an announce stored nowhere');
    let result: (LookupResult & ScrapeResult) | undefined;
    scraper.scrape(ih, 40, (r) => (result = r));
    deliver(40);
    assert.ok(result, 'the scrape did not finish');
    assert.equal(result.seeds, 2);
    assert.equal(result.downloaders, 1);
    assert.ok(result.filters >= 1);
  });
});

describe('lookup results as they come, and their timing', () => {
  it('getPeers: onPeers once per answer with new peers, only the new ones; resultMs at the first values', () => {
    const rnd = seededRng(30);
    const node = makeNode();
    const contacts = Array.from({ length: 4 }, (_, i) => ({ id: randomId(rnd), at: addr(i + 1) }));
    for (const c of contacts) befriend(node, c.id, c.at, 1);
    const ih = randomId(rnd);
    const batches: string[][] = [];
    let result: LookupResult | undefined;
    node.getPeers(ih, 1000, (r) => (result = r), (ps) => batches.push(ps.map(key)));
    const sent = queries(drain(node), 'get_peers');
    assert.equal(sent.length, 4);
    const idOf = (s: Sent): Buffer => contacts.find((c) => c.at.host === s.to.host)!.id;
    const p = (i: number): PeerAddress => ({ host: `198.51.100.${i}`, port: 6000 + i });
    const answer = (s: Sent, values: PeerAddress[] | undefined, now: number): void =>
      node.handlePacket(encodeResponse(txOf(s), { id: idOf(s), token: 't', values: values?.map((v) => compact(v.host, v.port)) }), s.to, now);
    answer(sent[0]!, undefined, 1010); // no values: no call, and not the result time
    assert.deepEqual(batches, []);
    answer(sent[1]!, [p(1), p(2)], 1030);
    answer(sent[2]!, [p(2), p(3)], 1050);
    answer(sent[3]!, [p(1)], 1080); // nothing new
    assert.deepEqual(batches, [[key(p(1)), key(p(2))], [key(p(3))]]);
    assert.ok(result, 'the lookup did not finish');
    assert.deepEqual(result.peers.map(key).sort(), [p(1), p(2), p(3)].map(key).sort());
    assert.equal(result.resultMs, 30);
    assert.equal(result.durationMs, 80);
    assert.ok(result.durationMs >= result.resultMs);
  });

  it('getPeers with no values anywhere: resultMs undefined', () => {
    const rnd = seededRng(31);
    const node = makeNode();
    const c = { id: randomId(rnd), at: addr(1) };
    befriend(node, c.id, c.at, 1);
    let result: LookupResult | undefined;
    const calls: PeerAddress[][] = [];
    node.getPeers(randomId(rnd), 500, (r) => (result = r), (ps) => calls.push(ps));
    const [s] = queries(drain(node), 'get_peers');
    node.handlePacket(encodeResponse(txOf(s!), { id: c.id, token: 't' }), c.at, 540);
    assert.ok(result);
    assert.equal(result.resultMs, undefined);
    assert.equal(result.durationMs, 40);
    assert.deepEqual(calls, []);
  });

  it('findNode: resultMs is when the closest answered node answered, not the first or the last answer', () => {
    const rnd = seededRng(32);
    const node = makeNode();
    const target = randomId(rnd);
    // Distances to the target: the contact at bit 12 is the closest, then 8, 4, 1.
    const contacts = [1, 4, 8, 12].map((bit, i) => ({ id: idAtPrefix(target, bit, rnd), at: addr(i + 1), bit }));
    for (const c of contacts) befriend(node, c.id, c.at, 1);
    let result: LookupResult | undefined;
    node.findNode(target, 2000, (r) => (result = r));
    const sent = queries(drain(node), 'find_node');
    assert.equal(sent.length, 4);
    const when: Record<number, number> = { 1: 2010, 4: 2060, 8: 2040, 12: 2025 };
    const order = [...sent].sort((a, b) => when[contacts.find((c) => c.at.host === a.to.host)!.bit]! - when[contacts.find((c) => c.at.host === b.to.host)!.bit]!);
    for (const s of order) {
      const c = contacts.find((x) => x.at.host === s.to.host)!;
      assert.equal(result === undefined, true, 'done before every node answered');
      node.handlePacket(encodeResponse(txOf(s), { id: c.id, nodes: Buffer.alloc(0) }), s.to, when[c.bit]!);
    }
    assert.ok(result, 'the lookup did not finish');
    assert.deepEqual(result.closest[0]?.id, contacts[3]!.id, 'the closest answered node is not first');
    assert.equal(result.resultMs, 25);
    assert.equal(result.durationMs, 60);
  });
});
