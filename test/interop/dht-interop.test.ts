/**
 * shoal's DHT against libtorrent's (python3-libtorrent 2.0.8) on 127.0.0.1 — the issue's acceptance
 * list, on one private DHT that the whole file shares:
 *
 *   S1  `shoal dht node` with no bootstrap (the network's entry point)
 *   S2, S3  `shoal dht node --bootstrap S1`
 *   L1, L2, L3  libtorrent (tools/lt_dht.py node) with `dht_bootstrap_nodes` = S1 only
 *
 * Nothing here knows a public router: shoal runs with SHOAL_NET_ALLOW=127.0.0.0/8 (so it neither
 * resolves nor contacts them), lt_dht.py sets `dht_bootstrap_nodes` to the local node only and reports
 * any DHT packet it sends outside 127/8, which fails the test.
 *
 * The tests run in the order below, not the list's. libtorrent ends a lookup only when every node it
 * queried answered or timed out (15 s), so the libtorrent lookups that must end (puts, mutable gets
 * without --min-seq, a seeder's first announce) are fast only while no dead node is about: BEP 44 runs
 * first; the downloads of items 2 and 3 (whose processes end) come after. libtorrent 2.0.8 also keeps
 * in its table a read-only node that sent it a `put`, so every libtorrent put coming after a
 * `shoal dht put` one-shot takes those 15 s (item 5's last part, and the seeder's announce in item 2).
 *
 *   1. the two implementations form one DHT (each side's routing table holds the other's nodes);
 *   4+5. BEP 44 items put by libtorrent (immutable; mutable, salted) read by `shoal dht get`;
 *   4+5. items put by `shoal dht put` (immutable; mutable; an update of libtorrent's item) read by libtorrent;
 *   5. libtorrent updates shoal's mutable item, shoal reads the update;
 *   2. a libtorrent seeder announced only through the DHT is found and downloaded from by `shoal get`;
 *   3. a `shoal seed` is found through the DHT by libtorrent, which downloads from it;
 *   6. CLI: announce → get-peers; `get --no-dht` with no peer source; a node restarted with its
 *      SHOAL_HOME reloads its routing table (and a `shoal get` finds peers with no --bootstrap);
 *   7. BEP 33 scrape: a seed and a downloader announced from two loopback addresses are counted from
 *      the bloom filters of shoal's and libtorrent's nodes.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { PYTHON, ltCreate } from './support/tools.js';
import { assertSameData, fileFixture, MiB, writeData } from './support/swarm-data.js';
import { expectShoalGetDone, startShoalGet, startShoalSeed } from './support/swarm-clients.js';
import { pollUntil, startProc } from './support/swarm-procs.js';
import type { JsonEvent, Proc } from './support/swarm-procs.js';
import { useWorkspace } from './support/swarm-setup.js';
import {
  LT_DHT,
  addr,
  assertNoForeign,
  immutableTarget,
  ltLive,
  ltOnce,
  mutableTarget,
  readSavedTable,
  shoalJson,
  shoalOnce,
  startLtNode,
  startShoalNode,
  stopShoalNode,
  waitShoalStats,
  writeKeyFile,
} from './support/dht-net.js';
import type { DhtNodeInfo, ShoalNode } from './support/dht-net.js';

const ws = useWorkspace('dht');

let S1: ShoalNode;
let S2: ShoalNode;
let S3: ShoalNode;
const shoalNodes = (): ShoalNode[] => [S1, S2, S3];
let L: DhtNodeInfo[] = [];
/** A folder for one-shot shoal commands' SHOAL_HOME (one-shot DHT commands keep no state). */
let oneShotHome = '';

before(async () => {
  oneShotHome = await ws.sub('home-oneshot');
  S1 = await startShoalNode('shoal S1', await ws.sub('home-s1'));
  S2 = await startShoalNode('shoal S2', await ws.sub('home-s2'), { bootstrap: [addr(S1.port)] });
  S3 = await startShoalNode('shoal S3', await ws.sub('home-s3'), { bootstrap: [addr(S1.port)] });
  L = [];
  for (const n of [1, 2, 3]) L.push(await startLtNode(`libtorrent L${n}`, [addr(S1.port)]));
});

const sBoot = (): string[] => ['--bootstrap', addr(S1.port)];

// ---------------------------------------------------------------------------------------------
// 1. One DHT

void test('1. libtorrent and shoal nodes bootstrapped through one shoal node form one DHT', { timeout: 60_000 }, async () => {
  const everyone = [...shoalNodes(), ...L];
  // shoal: a network of 6 nodes, so a table of 5 holds every other node — the three libtorrent ones included.
  for (const s of shoalNodes()) {
    await waitShoalStats(s, (e) => Number(e.nodes) >= everyone.length - 1, 30_000, `a routing table of ${everyone.length - 1} nodes`);
  }
  // libtorrent: its table (dht_live_nodes) holds S2, S3 and the other libtorrent nodes, by id and port.
  // (S1 is libtorrent's bootstrap "router", which libtorrent by design never puts in its table.)
  for (const l of L) {
    const want = [S2, S3, ...L.filter((x) => x !== l)];
    await l.proc.waitUntil(
      () => {
        const live = ltLive(l);
        return want.every((w) => live.some((n) => n.id === w.id && n.port === w.port)) ? true : undefined;
      },
      30_000,
      `${l.name}'s routing table to hold ${want.map((w) => `${w.name} (${w.id.slice(0, 8)}… :${w.port})`).join(', ')}`,
    );
    const last = l.proc.events.filter((e) => e.event === 'stats').at(-1);
    assert.ok(Number(last?.nodes) >= want.length, `${l.name} counts ${String(last?.nodes)} nodes in its table`);
    assertNoForeign(l.proc.events, l.proc.describe());
  }
  // shoal's table by identity: S3 stopped with SIGINT saves it; every libtorrent node is in it.
  await stopShoalNode(S3);
  const saved = await readSavedTable(join(S3.home, 'dht-node.json'));
  assert.equal(saved.id, S3.id, 'the saved table is S3\'s');
  for (const w of [S1, S2, ...L]) {
    assert.ok(
      saved.nodes.some((n) => n.id === w.id && n.host === '127.0.0.1' && n.port === w.port),
      `S3's saved routing table holds ${w.name} (${w.id} :${w.port}): ${JSON.stringify(saved.nodes)}`,
    );
  }
  // back in the network, same port and home (so it is not left as a dead node in everyone's table)
  S3 = await startShoalNode('shoal S3', S3.home, { port: S3.port, bootstrap: [addr(S1.port)] });
  assert.equal(S3.id, saved.id, 'S3 keeps its node id across a restart');
});

// ---------------------------------------------------------------------------------------------
// 4 and 5. BEP 44 items, immutable and mutable, both directions

const ltArgs = (...a: string[]): string[] => [...a, '--bootstrap', addr(S1.port), '--timeout', '20'];
let tag = '';
let keys = '';
let ltKeyFile = '';
let ltKey: { seed: string; publicKey: string };
let salt = '';

void test('4+5, libtorrent → shoal: items put by libtorrent (immutable; mutable with a salt) are read by shoal dht get', { timeout: 60_000 }, async () => {
  tag = randomBytes(4).toString('hex');
  keys = await ws.sub('keys');
  // immutable
  const imm = `immutable from libtorrent ${tag}`;
  const put = await ltOnce(ltArgs('put-immutable', imm), 40_000);
  assert.equal(put.code, 0, put.describe);
  assert.equal(put.last?.target, immutableTarget(imm), `libtorrent's target is SHA-1 of the bencoded value\n${put.describe}`);
  // stored on more nodes than the 3 libtorrent ones: shoal nodes accepted libtorrent's put
  assert.ok(Number(put.last?.stored) > L.length, `stored on ${String(put.last?.stored)} nodes (want > ${L.length})\n${put.describe}`);
  const got = await shoalOnce(['dht', 'get', immutableTarget(imm), ...sBoot(), '--json'], oneShotHome);
  assert.equal(got.code, 0, got.describe);
  assert.deepEqual(shoalJson(got), { target: immutableTarget(imm), found: true, value: imm }, got.describe);

  // mutable, salted, under a key made by Node's crypto
  ltKeyFile = join(keys, 'lt-key.json');
  ltKey = await writeKeyFile(ltKeyFile);
  salt = `salt-${tag}`;
  const v1 = `mutable from libtorrent ${tag}`;
  const mput = await ltOnce(ltArgs('put-mutable', v1, '--key', ltKeyFile, '--salt', salt), 40_000);
  assert.equal(mput.code, 0, mput.describe);
  assert.equal(mput.last?.target, mutableTarget(ltKey.publicKey, salt), mput.describe);
  assert.equal(mput.last?.seq, 1, mput.describe);
  assert.ok(Number(mput.last?.stored) > L.length, `stored on ${String(mput.last?.stored)} nodes (want > ${L.length})\n${mput.describe}`);
  const mget = await shoalOnce(['dht', 'get', '--pubkey', ltKey.publicKey, '--salt', salt, ...sBoot(), '--json'], oneShotHome);
  assert.equal(mget.code, 0, mget.describe);
  assert.deepEqual(shoalJson(mget), { target: mutableTarget(ltKey.publicKey, salt), found: true, value: v1, seq: 1 }, mget.describe);
});

let shKeyFile = '';
let shPub = '';

void test('4+5, shoal → libtorrent: items put by shoal dht put (immutable; mutable; an update of libtorrent\'s salted item) are read by libtorrent', { timeout: 60_000 }, async () => {
  assert.ok(ltKey, 'needs the libtorrent item of the test before');
  // immutable
  const imm = `immutable from shoal ${tag}`;
  const put = await shoalOnce(['dht', 'put', imm, ...sBoot(), '--json'], oneShotHome);
  assert.equal(put.code, 0, put.describe);
  const pj = shoalJson(put);
  assert.equal(pj.target, immutableTarget(imm), put.describe);
  // stored on more nodes than the 3 shoal ones: libtorrent nodes accepted shoal's put
  assert.ok(Number(pj.stored) > shoalNodes().length, `stored on ${String(pj.stored)} nodes (want > ${shoalNodes().length})\n${put.describe}`);
  const got = await ltOnce(ltArgs('get-immutable', immutableTarget(imm)), 40_000);
  assert.equal(got.code, 0, got.describe);
  assert.equal(got.last?.found, true, got.describe);
  assert.equal(got.last?.value, imm, got.describe);

  // mutable, no salt, under a key from `shoal dht keygen`
  shKeyFile = join(keys, 'shoal-key.json');
  const kg = await shoalOnce(['dht', 'keygen', '-o', shKeyFile, '--json'], oneShotHome);
  assert.equal(kg.code, 0, kg.describe);
  shPub = String(shoalJson(kg).publicKey);
  const v1 = `mutable from shoal ${tag}`;
  const mput = await shoalOnce(['dht', 'put', v1, '--key', shKeyFile, ...sBoot(), '--json'], oneShotHome);
  assert.equal(mput.code, 0, mput.describe);
  const mj = shoalJson(mput);
  assert.equal(mj.target, mutableTarget(shPub), mput.describe);
  assert.equal(mj.seq, 1, mput.describe);
  assert.ok(Number(mj.stored) > shoalNodes().length, `stored on ${String(mj.stored)} nodes (want > ${shoalNodes().length})\n${mput.describe}`);
  const mget = await ltOnce(ltArgs('get-mutable', '--pubkey', shPub, '--min-seq', '1'), 40_000);
  assert.equal(mget.code, 0, mget.describe);
  assert.equal(mget.last?.found, true, mget.describe);
  assert.equal(mget.last?.seq, 1, mget.describe);
  assert.equal(mget.last?.value, v1, mget.describe);

  // shoal updates libtorrent's salted item (same key and salt): it reads seq 1 and writes seq 2
  const v2 = `updated by shoal ${tag}`;
  const upd = await shoalOnce(['dht', 'put', v2, '--key', ltKeyFile, '--salt', salt, ...sBoot(), '--json'], oneShotHome);
  assert.equal(upd.code, 0, upd.describe);
  const uj = shoalJson(upd);
  assert.equal(uj.seq, 2, upd.describe);
  assert.equal(uj.publicKey, ltKey.publicKey, upd.describe);
  assert.deepEqual(uj.errors, [], upd.describe);
  const uget = await ltOnce(ltArgs('get-mutable', '--pubkey', ltKey.publicKey, '--salt', salt, '--min-seq', '2'), 40_000);
  assert.equal(uget.code, 0, uget.describe);
  assert.equal(uget.last?.found, true, uget.describe);
  assert.equal(uget.last?.seq, 2, uget.describe);
  assert.equal(uget.last?.value, v2, uget.describe);
  assert.equal(uget.last?.salt, salt, uget.describe);
});

void test('5. libtorrent updates the mutable item shoal put (it reads seq 1, signs seq 2) and shoal reads the update', { timeout: 60_000 }, async () => {
  assert.ok(shPub, 'needs the shoal item of the test before');
  // (libtorrent's put first runs a lookup to the end, which waits out libtorrent's 15 s timeout for the
  // dead read-only shoal one-shots of the test before: libtorrent keeps nodes that sent it a `put`)
  const v2 = `updated by libtorrent ${tag}`;
  const put = await ltOnce(ltArgs('put-mutable', v2, '--key', shKeyFile), 40_000);
  assert.equal(put.code, 0, put.describe);
  assert.equal(put.last?.seq, 2, put.describe);
  assert.equal(put.last?.target, mutableTarget(shPub), put.describe);
  const got = await shoalOnce(['dht', 'get', '--pubkey', shPub, ...sBoot(), '--json'], oneShotHome);
  assert.equal(got.code, 0, got.describe);
  assert.deepEqual(shoalJson(got), { target: mutableTarget(shPub), found: true, value: v2, seq: 2 }, got.describe);
});

// ---------------------------------------------------------------------------------------------
// 2. libtorrent seeds, announced only through the DHT; shoal finds it and downloads

const SEEDED = fileFixture('dht-lt-seeded.bin', 3 * MiB + 4321);
let ltSeeder: { proc: Proc; port: number; infoHash: string; src: string } | undefined;
let getHome = '';

/** Polls `shoal dht get-peers` until it lists `want` (host:port). */
async function waitAnnounced(infoHash: string, want: string, timeoutMs: number): Promise<void> {
  let last = '';
  await pollUntil(
    async () => {
      const r = await shoalOnce(['dht', 'get-peers', infoHash, ...sBoot(), '--json'], oneShotHome, 30_000);
      last = r.stdout.trim() || r.stderr.trim();
      return r.code === 0 && (JSON.parse(r.stdout) as { peers: string[] }).peers.includes(want) ? true : undefined;
    },
    timeoutMs,
    () => `${want} to be announced for ${infoHash} (shoal dht get-peers said ${last})`,
    500,
  );
}

void test('2. shoal get finds a libtorrent seeder through the DHT alone (magnet + --bootstrap, no peer, no tracker)', { timeout: 90_000 }, async () => {
  const src = await ws.sub('lt-seed');
  await writeData(src, SEEDED);
  const torrent = join(ws.root, 'dht-lt-seeded.torrent');
  const created = await ltCreate(join(src, SEEDED.name), torrent, 'v1', 65536);
  const infoHash = created.infoHash!;
  const proc = await startProc('libtorrent DHT seed', PYTHON, [LT_DHT, 'seed', torrent, src, '--bootstrap', addr(S1.port)]);
  const ready = await proc.waitForEvent('ready', 20_000);
  const port = Number(ready.port);
  await proc.waitForEvent('seeding', 30_000);
  ltSeeder = { proc, port, infoHash, src };
  // libtorrent announced itself: the DHT (as shoal's own get-peers sees it) lists its address
  await waitAnnounced(infoHash, addr(port), 45_000);

  getHome = await ws.sub('home-get');
  const dl = await ws.sub('shoal-get');
  const get = await startShoalGet(`magnet:?xt=urn:btih:${infoHash}`, dl, sBoot(), { env: { SHOAL_HOME: getHome }, name: 'shoal get (DHT)' });
  await get.waitForEvent('metadata', 45_000);
  await expectShoalGetDone(get, 45_000);
  await assertSameData(SEEDED, src, dl, 'shoal get (peers from the DHT)');
  const peers = get.events.filter((e) => e.event === 'peer' && e.action === 'connected');
  assert.ok(
    peers.some((e) => e.host === '127.0.0.1' && e.port === port),
    `shoal connected to libtorrent's address as announced in the DHT (127.0.0.1:${port}): ${JSON.stringify(peers)}`,
  );
  assertNoForeign(proc.events, proc.describe());
});

// ---------------------------------------------------------------------------------------------
// 3. shoal seeds; libtorrent finds it through the DHT and downloads

void test('3. libtorrent finds a shoal seeder through the DHT alone (magnet, no peer, no tracker) and downloads', { timeout: 90_000 }, async () => {
  const fx = fileFixture('dht-shoal-seeded.bin', 2 * MiB + 777);
  const src = await ws.sub('shoal-seed');
  const file = await writeData(src, fx);
  const home = await ws.sub('home-seed');
  const { proc: seed, ready } = await startShoalSeed([file, ...sBoot()], { env: { SHOAL_HOME: home }, name: 'shoal seed (DHT)' });
  assert.ok(ready.infoHash && ready.magnet, `shoal seed printed its magnet\n${seed.describe()}`);
  assert.ok(!/[?&](tr|x\.pe)=/.test(ready.magnet), `the magnet names no tracker and no peer: ${ready.magnet}`);
  await waitAnnounced(ready.infoHash, addr(ready.port), 30_000);

  const dl = await ws.sub('lt-get');
  const get = await startProc('libtorrent DHT get', PYTHON, [LT_DHT, 'get', ready.magnet, dl, '--bootstrap', addr(S1.port), '--timeout', '60']);
  const exit = await get.waitExit(75_000);
  assert.equal(exit.code, 0, `libtorrent get did not finish\n${get.describe()}\n${seed.describe()}`);
  assert.ok(get.events.some((e) => e.event === 'done'), get.describe());
  await assertSameData(fx, src, dl, 'libtorrent (peers from the DHT)');
  assertNoForeign(get.events, get.describe());
  await seed.kill('SIGINT');
});

// ---------------------------------------------------------------------------------------------
// 6. CLI behaviour

let announced: { infoHash: string; peer: string } | undefined;

void test('6a. shoal dht get-peers after shoal dht announce --peer-port N returns 127.0.0.1:N (and libtorrent sees it too)', { timeout: 60_000 }, async () => {
  const infoHash = randomBytes(20).toString('hex');
  const peerPort = 40_000 + Math.floor(Math.random() * 20_000);
  const ann = await shoalOnce(['dht', 'announce', infoHash, '--peer-port', String(peerPort), ...sBoot(), '--json'], oneShotHome);
  assert.equal(ann.code, 0, ann.describe);
  const aj = shoalJson(ann);
  assert.equal(aj.port, peerPort, ann.describe);
  assert.ok(Number(aj.stored) > 0, ann.describe);
  const gp = await shoalOnce(['dht', 'get-peers', infoHash, ...sBoot(), '--json'], oneShotHome);
  assert.equal(gp.code, 0, gp.describe);
  assert.deepEqual(shoalJson(gp).peers, [addr(peerPort)], gp.describe);
  const lgp = await ltOnce(['get-peers', infoHash, '--bootstrap', addr(S1.port), '--timeout', '20'], 40_000);
  assert.equal(lgp.code, 0, lgp.describe);
  assert.deepEqual(lgp.last?.peers, [addr(peerPort)], lgp.describe);
  announced = { infoHash, peer: addr(peerPort) };
});

void test('7. BEP 33: announces from two addresses (one a seed) are counted by shoal dht scrape, with libtorrent nodes answering with filters too', { timeout: 60_000 }, async () => {
  const infoHash = randomBytes(20).toString('hex');
  // Bloom filters count addresses, so the two announcers bind two loopback addresses.
  const seed = await shoalOnce(['dht', 'announce', infoHash, '--seed', '--host', '127.0.0.2', '--peer-port', '41001', ...sBoot(), '--json'], oneShotHome);
  assert.equal(seed.code, 0, seed.describe);
  const leech = await shoalOnce(['dht', 'announce', infoHash, '--host', '127.0.0.3', '--peer-port', '41002', ...sBoot(), '--json'], oneShotHome);
  assert.equal(leech.code, 0, leech.describe);
  const announcedOn = Math.min(Number(shoalJson(seed).stored), Number(shoalJson(leech).stored));
  // Every node of this small DHT is among the 8 closest: the three libtorrent nodes stored both.
  assert.ok(announcedOn >= shoalNodes().length + L.length - 1, `stored on ${announcedOn} nodes\n${seed.describe}\n${leech.describe}`);
  const sc = await shoalOnce(['dht', 'scrape', infoHash, ...sBoot(), '--json'], oneShotHome);
  assert.equal(sc.code, 0, sc.describe);
  const j = shoalJson(sc);
  assert.equal(j.seeds, 1, sc.describe);
  assert.equal(j.downloaders, 1, sc.describe);
  // More filters than there are shoal nodes: libtorrent's filters were taken, and (as the counts
  // stay at 1 and 1 in the union) set the same bits as shoal's for the same addresses.
  assert.ok(Number(j.filters) > shoalNodes().length, `filters from ${String(j.filters)} nodes\n${sc.describe}`);
});

void test('6b. shoal get --no-dht <magnet> with no peer and no tracker exits 2 with a one-line error', { timeout: 30_000 }, async () => {
  const home = await ws.sub('home-nodht');
  const dl = await ws.sub('nodht');
  const r = await shoalOnce(['get', '--no-dht', `magnet:?xt=urn:btih:${randomBytes(20).toString('hex')}`, '-o', dl], home);
  assert.equal(r.code, 2, r.describe);
  assert.equal(r.stdout, '', r.describe);
  const err = r.stderr.replace(/\n$/, '');
  assert.ok(err.length > 0 && !err.includes('\n'), `one line on stderr: ${JSON.stringify(r.stderr)}`);
  assert.match(err, /^shoal: /, r.describe);
});

void test('6c. a shoal dht node restarted with the same SHOAL_HOME and no --bootstrap reloads its routing table and works', { timeout: 60_000 }, async () => {
  assert.ok(announced, 'needs the announce of 6a');
  const old = S2;
  await stopShoalNode(old);
  const saved = await readSavedTable(join(old.home, 'dht-node.json'));
  assert.equal(saved.id, old.id);
  for (const w of [S1, S3, ...L]) {
    assert.ok(saved.nodes.some((n) => n.id === w.id && n.port === w.port), `S2's saved table holds ${w.name}: ${JSON.stringify(saved.nodes)}`);
  }
  // no --bootstrap: the only nodes it can know are the saved ones
  S2 = await startShoalNode('shoal S2 (restarted)', old.home, { port: old.port });
  assert.equal(S2.id, old.id, 'the restarted node reloads its id');
  const first = await S2.proc.waitForEvent('stats', 15_000);
  const alive = [S1, S3, ...L].length;
  assert.ok(Number(first.nodes) >= alive, `the first stats after the restart know the ${alive} live nodes: ${JSON.stringify(first)}`);
  assert.ok(Number(first.responsesIn) > 0, `the restarted node heard back from saved nodes: ${JSON.stringify(first)}`);
  // it answers and routes: lookups that start from it alone find the peer announced in 6a
  const gp = await shoalOnce(['dht', 'get-peers', announced.infoHash, '--bootstrap', addr(S2.port), '--json'], oneShotHome);
  assert.equal(gp.code, 0, gp.describe);
  assert.deepEqual(shoalJson(gp).peers, [announced.peer], gp.describe);
  const lgp = await ltOnce(['get-peers', announced.infoHash, '--bootstrap', addr(S2.port), '--timeout', '20'], 40_000);
  assert.equal(lgp.code, 0, lgp.describe);
  assert.deepEqual(lgp.last?.peers, [announced.peer], lgp.describe);
});

void test('6d. shoal get run again with the same SHOAL_HOME and no --bootstrap finds the seeder through its saved table', { timeout: 90_000 }, async () => {
  assert.ok(ltSeeder && getHome, 'needs the libtorrent seeder and the SHOAL_HOME of test 2');
  assert.ok(ltSeeder.proc.running, `the libtorrent seeder of test 2 still runs\n${ltSeeder.proc.describe()}`);
  const saved = await readSavedTable(join(getHome, 'dht.json'));
  assert.ok(saved.nodes.length > 0, `test 2's shoal get saved its routing table: ${JSON.stringify(saved)}`);
  const dl = await ws.sub('shoal-get-again');
  // the default bootstrap is the public routers, which SHOAL_NET_ALLOW=127.0.0.0/8 rules out: only the saved table is left
  const get = await startShoalGet(`magnet:?xt=urn:btih:${ltSeeder.infoHash}`, dl, [], { env: { SHOAL_HOME: getHome }, name: 'shoal get (saved table)' });
  await get.waitForEvent('metadata', 45_000);
  await expectShoalGetDone(get, 45_000);
  await assertSameData(SEEDED, ltSeeder.src, dl, 'shoal get (peers found from the saved routing table)');
  const peers = get.events.filter((e: JsonEvent) => e.event === 'peer' && e.action === 'connected');
  assert.ok(peers.some((e) => e.port === ltSeeder!.port), `connected to the libtorrent seeder: ${JSON.stringify(peers)}`);
});

void test('no libtorrent node of the file sent a DHT packet outside 127.0.0.0/8', () => {
  for (const p of [...L.map((l) => l.proc), ...(ltSeeder ? [ltSeeder.proc] : [])]) assertNoForeign(p.events, p.describe());
});
