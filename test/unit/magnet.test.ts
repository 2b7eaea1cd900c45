/** Magnet links: parsing (BEP 9, BEP 53, btmh), formatting, the round trip, and refusals. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatMagnet, isMagnet, magnetOf, parseMagnet } from '../../src/metainfo/magnet.js';
import type { Magnet } from '../../src/metainfo/magnet.js';
import { MetainfoError } from '../../src/metainfo/errors.js';
import { parseTorrent } from '../../src/metainfo/parse.js';
import { shoal } from '../helpers/cli.js';
import { makeBases, TRACKER } from './support/bad-torrent-corpus.js';

// A known pair: the same 20 bytes in hex and in RFC 4648 base32 (computed with Python's base64).
const HEX = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a';
const B32 = 'YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK';
// sha256("shoal")
const HEX_V2 = '888696c38e895dd742b8494f449219c12a256a16d0841b93813c841a298df92c';

function refused(uri: string, pattern?: RegExp): void {
  assert.throws(
    () => parseMagnet(uri),
    (e: unknown) => {
      assert.ok(e instanceof MetainfoError, `not a MetainfoError: ${String(e)}`);
      assert.equal(e.code, 'ERR_MAGNET');
      if (pattern) assert.match(e.message, pattern);
      return true;
    },
    `${uri} should be refused`,
  );
}

void describe('parseMagnet', () => {
  void it('btih in hex, either case', () => {
    const m = parseMagnet(`magnet:?xt=urn:btih:${HEX}`);
    assert.deepEqual(m, { infoHash: Buffer.from(HEX, 'hex'), trackers: [], webSeeds: [], peers: [] });
    assert.deepEqual(parseMagnet(`magnet:?xt=urn:btih:${HEX.toUpperCase()}`).infoHash, Buffer.from(HEX, 'hex'));
    assert.deepEqual(parseMagnet(`magnet:?xt=URN:BTIH:${HEX}`).infoHash, Buffer.from(HEX, 'hex'));
  });

  void it('btih in base32, either case, gives the same bytes as the hex form', () => {
    assert.equal(parseMagnet(`magnet:?xt=urn:btih:${B32}`).infoHash?.toString('hex'), HEX);
    assert.equal(parseMagnet(`magnet:?xt=urn:btih:${B32.toLowerCase()}`).infoHash?.toString('hex'), HEX);
    // All-"A" is twenty zero bytes; all-"7" is twenty 0xff bytes.
    assert.deepEqual(parseMagnet(`magnet:?xt=urn:btih:${'A'.repeat(32)}`).infoHash, Buffer.alloc(20));
    assert.deepEqual(parseMagnet(`magnet:?xt=urn:btih:${'7'.repeat(32)}`).infoHash, Buffer.alloc(20, 0xff));
  });

  void it('btmh 1220… (a SHA-256 multihash) is the v2 info-hash', () => {
    const m = parseMagnet(`magnet:?xt=urn:btmh:1220${HEX_V2}`);
    assert.equal(m.infoHashV2?.toString('hex'), HEX_V2);
    assert.equal(m.infoHash, undefined);
  });

  void it('a hybrid link with both, numbered xt.1 / xt.2', () => {
    const m = parseMagnet(`magnet:?xt.1=urn:btih:${HEX}&xt.2=urn:btmh:1220${HEX_V2}`);
    assert.equal(m.infoHash?.toString('hex'), HEX);
    assert.equal(m.infoHashV2?.toString('hex'), HEX_V2);
  });

  void it('dn, tr, ws, x.pe, xl and so', () => {
    const m = parseMagnet(
      `magnet:?xt=urn:btih:${HEX}&dn=My+Show&xl=123456789&tr=udp://tracker.example:6969&tr=http://b.example/announce` +
        '&ws=https://seed.example/files/&x.pe=192.0.2.1:6881&x.pe=[2001:db8::1]:51413&so=0,2,4-6',
    );
    assert.deepEqual(m, {
      infoHash: Buffer.from(HEX, 'hex'),
      name: 'My Show',
      length: 123456789,
      trackers: ['udp://tracker.example:6969', 'http://b.example/announce'],
      webSeeds: ['https://seed.example/files/'],
      peers: ['192.0.2.1:6881', '[2001:db8::1]:51413'],
      selectOnly: [0, 2, 4, 5, 6],
    });
  });

  void it('numbered trackers tr.1, tr.2 keep their order', () => {
    const m = parseMagnet(`magnet:?xt=urn:btih:${HEX}&tr.1=http://one.example/a&tr.2=http://two.example/a&tr=http://three.example/a`);
    assert.deepEqual(m.trackers, ['http://one.example/a', 'http://two.example/a', 'http://three.example/a']);
  });

  void it('so: single indices, ranges, overlaps and spaces; sorted and unique', () => {
    const so = (v: string): number[] | undefined => parseMagnet(`magnet:?xt=urn:btih:${HEX}&so=${v}`).selectOnly;
    assert.deepEqual(so('0,2,4-6'), [0, 2, 4, 5, 6]);
    assert.deepEqual(so('7,1-3,2'), [1, 2, 3, 7]);
    assert.deepEqual(so('5-5'), [5]);
    assert.deepEqual(so('4-6,5'), [4, 5, 6]);
    assert.deepEqual(so('1,%202'), [1, 2]);
  });

  void it('percent-encoding and "+" in values', () => {
    const tracker = 'http://t.example:8080/announce?passkey=a&b=c d';
    const m = parseMagnet(
      `magnet:?xt=urn:btih:${HEX}&dn=caf%C3%A9%20%2B%20cr%C3%A8me+br%C3%BBl%C3%A9e%26co&tr=${encodeURIComponent(tracker)}`,
    );
    assert.equal(m.name, 'café + crème brûlée&co');
    assert.deepEqual(m.trackers, [tracker]);
  });

  void it('keys are case-insensitive; unknown keys and empty pairs are ignored', () => {
    const m = parseMagnet(`MAGNET:?XT=urn:btih:${HEX}&&DN=x&kt=a+b&foo&as=http://a.example/x.torrent&`);
    assert.equal(m.infoHash?.toString('hex'), HEX);
    assert.equal(m.name, 'x');
  });

  void it('xl is a length', () => {
    assert.equal(parseMagnet(`magnet:?xt=urn:btih:${HEX}&xl=0`).length, 0);
    assert.equal(parseMagnet(`magnet:?xt=urn:btih:${HEX}&xl=${Number.MAX_SAFE_INTEGER}`).length, Number.MAX_SAFE_INTEGER);
  });

  void it('xl past 2^53 is refused, not rounded', () => {
    // /^\d{1,16}$/ lets 16-digit values through, and Number() rounds them. Either refusing or
    // keeping the exact value is fine; returning a different number is not.
    for (const xl of ['9007199254740993', '9999999999999999']) {
      let length: number | undefined;
      try {
        length = parseMagnet(`magnet:?xt=urn:btih:${HEX}&xl=${xl}`).length;
      } catch (e) {
        assert.ok(e instanceof MetainfoError && e.code === 'ERR_MAGNET');
        continue;
      }
      assert.ok(Number.isSafeInteger(length), `xl=${xl} gave ${length}`);
      assert.equal(String(length), xl);
    }
  });

  void it('isMagnet', () => {
    assert.ok(isMagnet(`magnet:?xt=urn:btih:${HEX}`));
    assert.ok(isMagnet('MAGNET:?'));
    assert.ok(!isMagnet('magnet:xt=urn:btih'));
    assert.ok(!isMagnet('./file.torrent'));
    assert.ok(!isMagnet(`http://x/?magnet:?xt=urn:btih:${HEX}`));
  });
});

void describe('parseMagnet refusals (ERR_MAGNET)', () => {
  void it('not a magnet link', () => {
    refused(`http://example.com/?xt=urn:btih:${HEX}`, /not a magnet link/);
    refused('', /not a magnet link/);
  });

  void it('no xt, or only an xt we do not know', () => {
    refused('magnet:?', /no "xt=urn:btih:" or "xt=urn:btmh:"/);
    refused('magnet:?dn=x&tr=http://t.example/a', /no "xt=urn:btih:"/);
    refused(`magnet:?xt=urn:sha1:${HEX}`, /no "xt=urn:btih:"/);
    refused(`magnet:?xt=urn:ed2k:${HEX}`, /no "xt=urn:btih:"/);
  });

  void it('bad btih hashes', () => {
    refused('magnet:?xt=urn:btih:', /bad btih hash/);
    refused(`magnet:?xt=urn:btih:${HEX.slice(1)}`, /bad btih hash/); // 39 hex
    refused(`magnet:?xt=urn:btih:${HEX}0`, /bad btih hash/); // 41 hex
    refused(`magnet:?xt=urn:btih:${HEX.slice(0, 39)}g`, /bad btih hash/);
    refused(`magnet:?xt=urn:btih:${B32.slice(1)}`, /bad btih hash/); // 31 base32
    refused(`magnet:?xt=urn:btih:${B32.slice(0, 31)}1`, /bad btih hash/); // "1" is not base32
    refused(`magnet:?xt=urn:btih:${B32.slice(0, 31)}=`, /bad btih hash/);
    refused(`magnet:?xt=urn:btih:${B32.slice(0, 31)}8`, /bad btih hash/); // nor is "8"
    refused(`magnet:?xt=urn:btih:${B32.slice(0, 31)}0`, /bad btih hash/); // nor "0"
  });

  void it('bad btmh hashes', () => {
    refused(`magnet:?xt=urn:btmh:${HEX_V2}`, /bad btmh hash/); // no multihash prefix
    refused(`magnet:?xt=urn:btmh:1114${HEX}`, /bad btmh hash/); // sha1 multihash
    refused(`magnet:?xt=urn:btmh:1220${HEX_V2.slice(2)}`, /bad btmh hash/);
    refused(`magnet:?xt=urn:btmh:1220${HEX_V2}00`, /bad btmh hash/);
  });

  void it('a bad hash is refused even next to a good one', () => {
    refused(`magnet:?xt=urn:btih:${HEX}&xt=urn:btmh:1220${HEX_V2.slice(1)}`, /bad btmh hash/);
  });

  void it('bad so', () => {
    const so = (v: string): string => `magnet:?xt=urn:btih:${HEX}&so=${v}`;
    refused(so(''), /"so" has a bad entry ""/);
    refused(so('a'), /"so" has a bad entry "a"/);
    refused(so('1,,2'), /"so" has a bad entry/);
    refused(so('-1'), /"so" has a bad entry/);
    refused(so('1-'), /"so" has a bad entry/);
    refused(so('1-2-3'), /"so" has a bad entry/);
    refused(so('1.5'), /"so" has a bad entry/);
    refused(so('1234567890'), /"so" has a bad entry/); // ten digits
    refused(so('6-4'), /"so" range 6-4 runs backwards/);
    refused(so('0-999999999'), /selects too many files/);
  });

  void it('bad xl', () => {
    const xl = (v: string): string => `magnet:?xt=urn:btih:${HEX}&xl=${v}`;
    refused(xl('-1'), /"xl" is not a length/);
    refused(xl('abc'), /"xl" is not a length/);
    refused(xl(''), /"xl" is not a length/);
    refused(xl('1e3'), /"xl" is not a length/);
    refused(xl('12345678901234567'), /"xl" is not a length/);
  });

  void it('bad percent-encoding', () => {
    refused(`magnet:?xt=urn:btih:${HEX}&dn=%E0%A4%A`, /"dn" is not valid percent-encoding/);
    refused(`magnet:?xt=urn:btih:${HEX}&tr=%ZZ`, /"tr" is not valid percent-encoding/);
    refused(`magnet:?xt=urn:btih:%${HEX}`, /"xt" is not valid percent-encoding/);
  });
});

void describe('formatMagnet', () => {
  void it('writes a known link', () => {
    const m: Magnet = {
      infoHash: Buffer.from(HEX, 'hex'),
      infoHashV2: Buffer.from(HEX_V2, 'hex'),
      name: 'a b&c/d:é',
      length: 42,
      trackers: ['udp://t.example:6969/announce?x=1&y=2'],
      webSeeds: ['https://s.example/f'],
      peers: ['192.0.2.1:6881'],
      selectOnly: [0, 2, 4, 5, 6],
    };
    assert.equal(
      formatMagnet(m),
      `magnet:?xt=urn:btih:${HEX}&xt=urn:btmh:1220${HEX_V2}&dn=a%20b%26c/d:%C3%A9&xl=42` +
        '&tr=udp://t.example:6969/announce%3Fx%3D1%26y%3D2&ws=https://s.example/f&x.pe=192.0.2.1:6881&so=0,2,4,5,6',
    );
  });

  void it('leaves out what is absent', () => {
    assert.equal(formatMagnet({ infoHash: Buffer.from(HEX, 'hex'), trackers: [], webSeeds: [], peers: [], selectOnly: [] }), `magnet:?xt=urn:btih:${HEX}`);
  });

  void it('parseMagnet(formatMagnet(m)) gives back m', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 24 });
    const hashes = fc.oneof(
      fc.record({ infoHash: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((u) => Buffer.from(u)) }),
      fc.record({ infoHashV2: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((u) => Buffer.from(u)) }),
      fc.record({
        infoHash: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((u) => Buffer.from(u)),
        infoHashV2: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((u) => Buffer.from(u)),
      }),
    );
    const rest = fc.record(
      {
        name: text,
        length: fc.maxSafeNat(),
        trackers: fc.array(text, { maxLength: 3 }),
        webSeeds: fc.array(text, { maxLength: 3 }),
        peers: fc.array(text, { maxLength: 3 }),
        selectOnly: fc.uniqueArray(fc.nat({ max: 100_000 }), { minLength: 1, maxLength: 8 }).map((a) => a.sort((x, y) => x - y)),
      },
      { requiredKeys: ['trackers', 'webSeeds', 'peers'] },
    );
    fc.assert(
      fc.property(hashes, rest, (h, r) => {
        const m: Magnet = { ...h, ...r };
        const uri = formatMagnet(m);
        assert.deepStrictEqual(parseMagnet(uri), m);
        assert.equal(formatMagnet(parseMagnet(uri)), uri);
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  void it('magnetOf a torrent names its hashes, name and trackers', () => {
    const bases = makeBases();
    const hybrid = parseTorrent(bases.hybrid.bytes);
    const m = parseMagnet(magnetOf(hybrid));
    assert.deepEqual(m.infoHash, hybrid.infoHash);
    assert.deepEqual(m.infoHashV2, hybrid.infoHashV2);
    assert.equal(m.name, 'hyb');
    assert.deepEqual(m.trackers, [TRACKER]);
    const v1 = parseTorrent(bases.v1.bytes);
    const m1 = parseMagnet(magnetOf(v1));
    assert.deepEqual(m1.infoHash, v1.infoHash);
    assert.equal(m1.infoHashV2, undefined);
  });
});

void describe('shoal info <magnet>', () => {
  void it('prints the parsed link as JSON', async () => {
    const r = await shoal(['info', `magnet:?xt=urn:btih:${B32}&dn=a+b&so=0,2,4-6`, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout) as { infoHash: string; name: string; selectOnly: number[] };
    assert.equal(d.infoHash, HEX);
    assert.equal(d.name, 'a b');
    assert.deepEqual(d.selectOnly, [0, 2, 4, 5, 6]);
  });

  void it('refuses a bad link with exit 2 and one line', async () => {
    const r = await shoal(['info', 'magnet:?xt=urn:btih:1234', '--json']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^shoal: magnet "xt" has a bad btih hash "1234"\n$/);
  });
});
