/**
 * Trackers: the HTTP announce URL and response parser (BEP 3, 23, 7), the UDP codec (BEP 15), and the
 * Announcer's BEP 12 tier logic, scheduling, backoff and events on a fake clock with a fake announce
 * function. No network.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { announceUrl, encodeBinary, parseAnnounceResponse } from '../../src/tracker/http.js';
import { ACTION, PROTOCOL_ID, decodeReply, encodeAnnounce, encodeConnect } from '../../src/tracker/udp-codec.js';
import { Announcer } from '../../src/tracker/announcer.js';
import { TrackerError } from '../../src/tracker/types.js';
import type { AnnounceEvent, AnnounceFn, AnnounceRequest, AnnounceResponse } from '../../src/tracker/types.js';
import type { PeerAddress } from '../../src/net/compact.js';
import { encode } from '../../src/bencode/index.js';
import { ShoalError } from '../../src/util/errors.js';
import { FakeClock, flush, hex, latin1 } from './support/swarm-helpers.js';

function isTrackerError(e: unknown): boolean {
  assert.ok(e instanceof TrackerError, `not a TrackerError: ${String(e)}`);
  assert.ok(e instanceof ShoalError);
  assert.equal(e.code, 'ERR_TRACKER');
  return true;
}

/** Undoes %XX escapes into raw bytes (what a tracker does with info_hash and peer_id). */
function percentDecode(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(s.charCodeAt(i));
  }
  return Buffer.from(out);
}

const BEP3_HASH = hex('123456789abcdef123456789abcdef123456789a');

function request(over: Partial<AnnounceRequest> = {}): AnnounceRequest {
  return {
    infoHash: BEP3_HASH,
    peerId: latin1('-SH0001-abc~._ +/%9Z'),
    port: 6881,
    uploaded: 1,
    downloaded: 2,
    left: 3,
    event: 'started',
    numWant: 50,
    key: 0x1a2b,
    ...over,
  };
}

describe('HTTP tracker: announce URL', () => {
  it('percent-encodes binary bytes, keeping only unreserved characters', () => {
    assert.equal(encodeBinary(BEP3_HASH), '%124Vx%9A%BC%DE%F1%23Eg%89%AB%CD%EF%124Vx%9A');
    assert.equal(encodeBinary(latin1('aZ09-._~ +/%?&=')), 'aZ09-._~%20%2B%2F%25%3F%26%3D');
    assert.equal(encodeBinary(hex('00ff80')), '%00%FF%80');
  });

  it('round-trips any 20 bytes and never emits a reserved character (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), (u) => {
        const s = encodeBinary(u);
        assert.match(s, /^(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})*$/);
        assert.deepEqual(percentDecode(s), Buffer.from(u));
      }),
      { seed: 3, numRuns: 300 },
    );
  });

  it('builds the query with every field, compact=1 and the event', () => {
    assert.equal(
      announceUrl('http://127.0.0.1:6969/announce', request()),
      'http://127.0.0.1:6969/announce?info_hash=%124Vx%9A%BC%DE%F1%23Eg%89%AB%CD%EF%124Vx%9A' +
        '&peer_id=-SH0001-abc~._%20%2B%2F%259Z&port=6881&uploaded=1&downloaded=2&left=3&compact=1&numwant=50&key=1a2b&event=started',
    );
  });

  it('appends to an existing query and leaves the event out when there is none', () => {
    const url = announceUrl('http://127.0.0.1/announce?passkey=abc', request({ event: undefined, left: 0 }));
    assert.ok(url.startsWith('http://127.0.0.1/announce?passkey=abc&info_hash='));
    assert.ok(!url.includes('event='));
    assert.ok(url.includes('&left=0&'));
    // what a tracker parses back out of it
    const q = new URL(url).search.slice(1).split('&');
    const raw = (k: string): string => q.find((p) => p.startsWith(`${k}=`))!.slice(k.length + 1);
    assert.deepEqual(percentDecode(raw('info_hash')), BEP3_HASH);
    assert.deepEqual(percentDecode(raw('peer_id')), latin1('-SH0001-abc~._ +/%9Z'));
  });
});

describe('HTTP tracker: responses', () => {
  it('parses compact peers (BEP 23), peers6 and the counters', () => {
    const body = Buffer.concat([
      latin1('d8:completei5e10:incompletei3e8:intervali1800e12:min intervali60e5:peers18:'),
      hex('7f0000011ae1 0a0000020000 0a0000030050'),
      latin1('6:peers618:'),
      hex('20010db8000000000000000000000001 1ae1'),
      latin1('15:warning message4:oopse'),
    ]);
    assert.deepEqual(parseAnnounceResponse(body), {
      intervalSec: 1800,
      minIntervalSec: 60,
      peers: [
        { host: '127.0.0.1', port: 6881 },
        { host: '10.0.0.3', port: 80 },
        { host: '2001:db8::1', port: 6881 },
      ],
      seeders: 5,
      leechers: 3,
      warning: 'oops',
    });
  });

  it('parses the dictionary peer list (BEP 3), skipping bad entries', () => {
    assert.deepEqual(parseAnnounceResponse(latin1('d8:intervali900e5:peersld2:ip9:127.0.0.17:peer id20:aaaaaaaaaaaaaaaaaaaa4:porti6881eeee')), {
      intervalSec: 900,
      peers: [{ host: '127.0.0.1', port: 6881 }],
    });
    const body = encode({
      interval: 900,
      peers: [
        { ip: '127.0.0.1', port: 1 },
        { ip: '2001:db8::2', port: 2 },
        { ip: '127.0.0.2', port: 0 },
        { ip: 5, port: 5 },
        { ip: '127.0.0.3', port: '80' },
        7,
        { ip: '127.0.0.4', port: 65536 },
        { port: 9 },
      ],
    });
    assert.deepEqual(parseAnnounceResponse(body).peers, [
      { host: '127.0.0.1', port: 1 },
      { host: '2001:db8::2', port: 2 },
    ]);
  });

  it('falls back to a 30-minute interval and ignores fields of the wrong type', () => {
    assert.deepEqual(parseAnnounceResponse(latin1('de')), { intervalSec: 1800, peers: [] });
    assert.deepEqual(parseAnnounceResponse(encode({ interval: 0, 'min interval': 0, peers: 5, complete: 'x' })), { intervalSec: 1800, peers: [] });
    assert.deepEqual(parseAnnounceResponse(encode({ interval: -5 })), { intervalSec: 1800, peers: [] });
    assert.deepEqual(parseAnnounceResponse(encode({ interval: '60' })), { intervalSec: 1800, peers: [] });
  });

  it('turns a failure reason into a TrackerError carrying the reason', () => {
    assert.throws(
      () => parseAnnounceResponse(latin1('d14:failure reason12:not allowed!8:intervali5ee')),
      (e: unknown) => isTrackerError(e) && (e as Error).message.includes('not allowed!'),
    );
  });

  it('bad bencode or a non-dictionary is a TrackerError', () => {
    for (const body of ['d8:interval', '<html><body>502 Bad Gateway</body></html>', 'li1ee', 'i5e', '', 'd8:intervali1ee trailing']) {
      assert.throws(() => parseAnnounceResponse(latin1(body)), isTrackerError, JSON.stringify(body));
    }
  });
});

describe('UDP tracker codec (BEP 15)', () => {
  it('connect request: protocol id 0x41727101980, action 0, transaction id', () => {
    assert.equal(PROTOCOL_ID, 0x41727101980n);
    assert.deepEqual(ACTION, { connect: 0, announce: 1, scrape: 2, error: 3 });
    assert.deepEqual(encodeConnect(0x12345678), hex('00000417 27101980 00000000 12345678'));
    assert.deepEqual(encodeConnect(-1), hex('00000417 27101980 00000000 ffffffff'));
  });

  it('announce request: 98 bytes laid out as the spec says', () => {
    const req = request({
      infoHash: Buffer.alloc(20, 0x11),
      peerId: Buffer.alloc(20, 0x22),
      downloaded: 2 ** 40 + 5,
      left: 7,
      uploaded: 9,
      event: 'started',
      key: 0x80000001,
      numWant: -1,
      port: 6881,
    });
    const b = encodeAnnounce(hex('0102030405060708'), 0xdeadbeef, req);
    assert.equal(b.length, 98);
    assert.deepEqual(
      b,
      hex(
        `0102030405060708 00000001 deadbeef ${'11'.repeat(20)} ${'22'.repeat(20)}` +
          ' 0000010000000005 0000000000000007 0000000000000009 00000002 00000000 80000001 ffffffff 1ae1',
      ),
    );
  });

  it('event codes: none 0, completed 1, started 2, stopped 3', () => {
    const code = (event: AnnounceEvent): number => encodeAnnounce(Buffer.alloc(8), 1, request({ event })).readUInt32BE(80);
    assert.deepEqual([code(undefined), code('completed'), code('started'), code('stopped')], [0, 1, 2, 3]);
    assert.equal(encodeAnnounce(Buffer.alloc(8), 1, request({ numWant: 50 })).readInt32BE(92), 50);
  });

  it('parses connect replies', () => {
    const buf = hex('00000000 12345678 a1a2a3a4a5a6a7a8 ffff');
    const r = decodeReply(buf, false);
    assert.deepEqual(r, { action: 'connect', tid: 0x12345678, connectionId: hex('a1a2a3a4a5a6a7a8') });
    buf.fill(0);
    assert.ok(r.action === 'connect' && r.connectionId.equals(hex('a1a2a3a4a5a6a7a8')), 'the connection id is a copy');
    assert.throws(() => decodeReply(hex('00000000 12345678 a1a2'), false), isTrackerError);
  });

  it('parses announce replies with IPv4 or IPv6 peers', () => {
    const v4 = decodeReply(hex('00000001 0000002a 00000708 00000003 00000005 7f0000011ae1 0a0000020050 0a0000030000 0102'), false);
    assert.deepEqual(v4, {
      action: 'announce',
      tid: 42,
      response: {
        intervalSec: 1800,
        leechers: 3,
        seeders: 5,
        peers: [
          { host: '127.0.0.1', port: 6881 },
          { host: '10.0.0.2', port: 80 },
        ],
      },
    });
    const v6 = decodeReply(hex('00000001 00000001 0000003c 00000000 00000001 20010db8000000000000000000000002 1ae1'), true);
    assert.deepEqual(v6.action === 'announce' && v6.response.peers, [{ host: '2001:db8::2', port: 6881 }]);
    const zero = decodeReply(hex('00000001 00000001 00000000 00000000 00000000'), false);
    assert.equal(zero.action === 'announce' && zero.response.intervalSec, 1, 'interval 0 is taken as 1 s');
    assert.throws(() => decodeReply(hex('00000001 00000001 00000708 00000000 0000'), false), isTrackerError);
  });

  it('parses error replies and refuses short or unknown ones', () => {
    assert.deepEqual(decodeReply(Buffer.concat([hex('00000003 00000007'), latin1('torrent not registered')]), false), {
      action: 'error',
      tid: 7,
      message: 'torrent not registered',
    });
    assert.throws(() => decodeReply(hex('00000003 000000'), false), isTrackerError);
    assert.throws(() => decodeReply(hex('00000009 00000007 00000000 00000000'), false), isTrackerError);
  });
});

// ---------------------------------------------------------------------------------------------
// Announcer

interface Call {
  url: string;
  event: AnnounceEvent;
  at: number;
  req: AnnounceRequest;
  signal: AbortSignal;
}

type Reply = AnnounceResponse | Error | Promise<AnnounceResponse>;

const ok = (intervalSec = 1800, peers: PeerAddress[] = [{ host: '127.0.0.9', port: 9 }], extra: Partial<AnnounceResponse> = {}): AnnounceResponse => ({
  intervalSec,
  peers,
  ...extra,
});

function harness(tiers: string[][], reply: (url: string, req: AnnounceRequest, signal: AbortSignal) => Reply, extra: { maxIntervalSec?: number } = {}) {
  const clock = new FakeClock();
  const calls: Call[] = [];
  const peers: PeerAddress[][] = [];
  const results: string[] = [];
  const announce: AnnounceFn = (url, req, signal) => {
    calls.push({ url, event: req.event, at: clock.now(), req, signal });
    const r = reply(url, req, signal);
    return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
  };
  const a = new Announcer(
    {
      clock,
      announce,
      onPeers: (p) => peers.push(p),
      onResult: (url, r) => results.push(`${url}:${r instanceof Error ? 'error' : 'ok'}`),
    },
    {
      tiers,
      infoHash: Buffer.alloc(20, 0xaa),
      peerId: Buffer.alloc(20, 0xbb),
      port: 6881,
      key: 77,
      stats: () => ({ uploaded: 10, downloaded: 20, left: 30 }),
      ...extra,
    },
  );
  /** Calls since the last look (taken out of `calls`), as "url event" strings. */
  const newCalls = (): string[] => calls.splice(0).map((c) => `${c.url} ${c.event ?? '-'}`);
  return { clock, calls, peers, results, a, newCalls };
}

/** A reply function for trackers that are up when their url is in `up`. */
const upSet = (up: Set<string>, interval = 1800) => (url: string): Reply => (up.has(url) ? ok(interval) : new TrackerError(`${url} is down`));

describe('Announcer (BEP 12 tiers, fake clock)', () => {
  it('tries tiers in order and each tier before the next; stops at the first answer', async () => {
    const up = new Set(['b1']);
    const h = harness([['a1', 'a2'], ['b1'], ['c1']], upSet(up));
    h.a.start();
    await flush();
    assert.deepEqual(h.newCalls(), ['a1 started', 'a2 started', 'b1 started']);
    assert.deepEqual(h.results, ['a1:error', 'a2:error', 'b1:ok']);
    assert.deepEqual(h.peers, [[{ host: '127.0.0.9', port: 9 }]]);
    assert.equal(h.a.lastPeers, 1);
    await h.clock.advance(1800_000);
    // every announce starts again from the first tier
    assert.deepEqual(h.newCalls(), ['a1 -', 'a2 -', 'b1 -']);
  });

  it('a tracker that answers moves to the front of its tier (the BEP 12 example)', async () => {
    const up = new Set(['t2']);
    const h = harness([['t1', 't2', 't3']], upSet(up));
    h.a.start();
    await flush();
    assert.deepEqual(h.newCalls(), ['t1 started', 't2 started']);
    await h.clock.advance(1800_000);
    assert.deepEqual(h.newCalls(), ['t2 -'], 'now t2, t1, t3');
    up.clear();
    up.add('t3');
    await h.clock.advance(1800_000);
    assert.deepEqual(h.newCalls(), ['t2 -', 't1 -', 't3 -']);
    await h.clock.advance(1800_000);
    assert.deepEqual(h.newCalls(), ['t3 -'], 'now t3, t2, t1');
    up.clear();
    await h.clock.advance(1800_000);
    assert.deepEqual(h.newCalls(), ['t3 -', 't2 -', 't1 -']);
  });

  it("re-announces at the tracker's interval, honouring min interval and our cap", async () => {
    const h = harness([['t']], () => ok(120));
    h.a.start();
    await flush();
    h.newCalls();
    assert.deepEqual(h.clock.pending(), [120_000]);
    await h.clock.advance(119_999);
    assert.deepEqual(h.newCalls(), []);
    await h.clock.advance(1);
    assert.deepEqual(h.newCalls(), ['t -']);
    assert.equal(h.calls.length, 0);

    const m = harness([['t']], () => ok(120, [], { minIntervalSec: 300 }));
    m.a.start();
    await flush();
    assert.deepEqual(m.clock.pending(), [300_000]);
    assert.deepEqual(m.peers, [], 'an empty peer list is not reported');

    const capped = harness([['t']], () => ok(1800), { maxIntervalSec: 60 });
    capped.a.start();
    await flush();
    assert.deepEqual(capped.clock.pending(), [60_000]);
  });

  it('backs off on failure: 15 s doubling up to 30 min, retrying started; success resets it', async () => {
    const up = new Set<string>();
    const h = harness([['t1', 't2']], upSet(up, 600));
    h.a.start();
    await flush();
    assert.deepEqual(h.newCalls(), ['t1 started', 't2 started']);
    const delays: number[] = [];
    let last = 0;
    for (let i = 0; i < 9; i++) {
      const next = h.clock.pending()[0]!;
      delays.push((next - last) / 1000);
      last = next;
      await h.clock.advance(next - h.clock.now());
      assert.deepEqual(h.newCalls(), ['t1 started', 't2 started'], `retry ${i + 1} repeats started`);
    }
    assert.deepEqual(delays, [15, 30, 60, 120, 240, 480, 960, 1800, 1800]);
    up.add('t2');
    await h.clock.advance(h.clock.pending()[0]! - h.clock.now());
    assert.deepEqual(h.newCalls(), ['t1 started', 't2 started']);
    assert.deepEqual(h.clock.pending(), [h.clock.now() + 600_000]);
    up.clear();
    await h.clock.advance(600_000);
    assert.deepEqual(h.newCalls(), ['t2 -', 't1 -']);
    assert.deepEqual(h.clock.pending(), [h.clock.now() + 15_000], 'backoff starts over after a success');
    await h.clock.advance(15_000);
    assert.deepEqual(h.newCalls(), ['t2 -', 't1 -'], 'a failed regular announce is retried without an event');
  });

  it("sends 'completed' at once and replaces the pending regular announce", async () => {
    const h = harness([['t']], () => ok(1800));
    h.a.start();
    await flush();
    await h.clock.advance(100_000);
    h.newCalls();
    h.a.completed();
    await flush();
    assert.deepEqual(h.newCalls(), ['t completed']);
    assert.deepEqual(h.clock.pending(), [100_000 + 1800_000], 'one timer, from the completed announce');
    await h.clock.advance(1800_000);
    assert.deepEqual(h.newCalls(), ['t -']);
  });

  it("a 'completed' that no tracker took is retried as 'completed'", async () => {
    const up = new Set(['t']);
    const h = harness([['t']], upSet(up));
    h.a.start();
    await flush();
    up.clear();
    h.a.completed();
    await flush();
    assert.deepEqual(h.newCalls(), ['t started', 't completed']);
    up.add('t');
    await h.clock.advance(15_000);
    assert.deepEqual(h.newCalls(), ['t completed'], 'the tracker must still learn that we completed');
  });

  it('passes our numbers in each request', async () => {
    const h = harness([['t']], () => ok());
    h.a.start();
    await flush();
    const r = h.calls[0]!.req;
    assert.deepEqual(
      { ...r, infoHash: r.infoHash.toString('hex'), peerId: r.peerId.toString('hex') },
      { infoHash: 'aa'.repeat(20), peerId: 'bb'.repeat(20), port: 6881, uploaded: 10, downloaded: 20, left: 30, event: 'started', numWant: 50, key: 77 },
    );
  });

  it('refresh() announces now when idle and does nothing while an announce is running', async () => {
    let release: ((r: AnnounceResponse) => void) | undefined;
    let hang = false;
    const h = harness([['t']], () => (hang ? new Promise<AnnounceResponse>((resolve) => (release = resolve)) : ok(1800)));
    h.a.start();
    await flush();
    h.newCalls();
    await h.clock.advance(5000);
    h.a.refresh();
    await flush();
    assert.deepEqual(h.newCalls(), ['t -']);
    assert.deepEqual(h.clock.pending(), [5000 + 1800_000]);
    hang = true;
    h.a.refresh();
    await flush();
    h.a.refresh();
    h.a.refresh();
    await flush();
    assert.deepEqual(h.newCalls(), ['t -'], 'one announce in flight at a time');
    release!(ok(900));
    await flush();
    assert.deepEqual(h.clock.pending(), [5000 + 900_000]);
  });

  it("stop() sends a best-effort 'stopped' and nothing after it", async () => {
    const h = harness([['t']], () => ok(60));
    h.a.start();
    await flush();
    h.newCalls();
    await h.a.stop();
    assert.deepEqual(h.newCalls(), ['t stopped']);
    assert.deepEqual(h.clock.pending(), []);
    await h.clock.advance(3600_000);
    h.a.start();
    h.a.completed();
    h.a.refresh();
    await h.a.stop();
    await flush();
    assert.deepEqual(h.newCalls(), [], 'nothing after stop, and stop only once');
  });

  it('stop() survives a failing tracker', async () => {
    const h = harness([['t']], () => new TrackerError('down'));
    h.a.start();
    await flush();
    await h.a.stop(); // must not reject
    assert.deepEqual(h.newCalls(), ['t started', 't stopped']);
    assert.deepEqual(h.clock.pending(), []);
  });

  it('stop() aborts an announce in flight', async () => {
    let first = true;
    const h = harness([['t1', 't2']], (_url, _req, signal) => {
      if (!first) return ok();
      first = false;
      return new Promise<AnnounceResponse>((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    });
    h.a.start();
    await flush();
    const inFlight = h.calls[0]!;
    assert.equal(inFlight.signal.aborted, false);
    await h.a.stop();
    await flush();
    assert.equal(inFlight.signal.aborted, true);
    // t2 is never tried after the stop; the stop itself went out
    assert.deepEqual(h.newCalls(), ['t1 started', 't1 stopped']);
    assert.deepEqual(h.clock.pending(), []);
  });

  it("stop() tells the tracker we were announced to, not a dead one from an earlier tier", async () => {
    const h = harness([['dead'], ['live']], upSet(new Set(['live'])));
    h.a.start();
    await flush();
    assert.deepEqual(h.newCalls(), ['dead started', 'live started']);
    await h.a.stop();
    const stops = h.newCalls();
    assert.ok(stops.includes('live stopped'), `the stopped event went to: ${stops.join(', ')}`);
  });

  it('with no trackers it does nothing', async () => {
    const h = harness([[], []], () => ok());
    assert.equal(h.a.empty, true);
    h.a.start();
    h.a.completed();
    await h.a.stop();
    await flush();
    assert.equal(h.calls.length, 0);
  });
});
