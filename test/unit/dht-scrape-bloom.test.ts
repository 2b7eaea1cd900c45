/**
 * The BEP 33 scrape bloom filter: the BEP's own test vector (bytes and estimate), union by merge,
 * estimate accuracy on random sets, and the edges (empty, full, wrong size, bad addresses).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BLOOM_BYTES, ScrapeBloom, estimateFromBitsSet } from '../../src/dht/scrape-bloom.js';

// Copied from bep_0033.rst, "Test Vectors", whitespace and all.
const BEP_VECTOR_HEX = `
 F6C3F5EA A07FFD91 BDE89F77 7F26FB2B FF37BDB8 FB2BBAA2 FD3DDDE7 BACFFF75 EE7CCBAE
 FE5EEDB1 FBFAFF67 F6ABFF5E 43DDBCA3 FD9B9FFD F4FFD3E9 DFF12D1B DF59DB53 DBE9FA5B
 7FF3B8FD FCDE1AFB 8BEDD7BE 2F3EE71E BBBFE93B CDEEFE14 8246C2BC 5DBFF7E7 EFDCF24F
 D8DC7ADF FD8FFFDF DDFFF7A4 BBEEDF5C B95CE81F C7FCFF1F F4FFFFDF E5F7FDCB B7FD79B3
 FA1FC77B FE07FFF9 05B7B7FF C7FEFEFF E0B8370B B0CD3F5B 7F2BD93F EB4386CF DD6F7FD5
 BFAF2E9E BFFFFEEC D67ADBF7 C67F17EF D5D75EBA 6FFEBA7F FF47A91E B1BFBB53 E8ABFB57
 62ABE8FF 237279BF EFBFEEF5 FFC5FEBF DFE5ADFF ADFEE1FB 737FFFFB FD9F6AEF FEEE76B6
 FD8F72EF
`;

/** 192.0.2.0 - 192.0.2.255 and 2001:DB8:: - 2001:DB8::3E7, inclusive: the BEP's 1256 addresses. */
function bepAddresses(): { v4: string[]; v6: string[] } {
  const v4 = Array.from({ length: 256 }, (_, i) => `192.0.2.${i}`);
  const v6 = Array.from({ length: 1000 }, (_, i) => `2001:DB8::${i.toString(16).toUpperCase()}`);
  return { v4, v6 };
}

function bloomOf(hosts: readonly string[]): ScrapeBloom {
  const b = new ScrapeBloom();
  for (const h of hosts) b.insertIp(h);
  return b;
}

/** mulberry32: a seeded generator, so a statistical failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function randomIPv4s(n: number, next: () => number): string[] {
  const seen = new Set<string>();
  while (seen.size < n) {
    const v = Math.floor(next() * 2 ** 32);
    seen.add([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.'));
  }
  return [...seen];
}

describe('ScrapeBloom', () => {
  it('reproduces the BEP 33 test vector bytes and estimate', () => {
    const expected = Buffer.from(BEP_VECTOR_HEX.replace(/\s+/g, ''), 'hex');
    assert.equal(expected.length, BLOOM_BYTES);
    const { v4, v6 } = bepAddresses();
    const b = bloomOf([...v4, ...v6]);
    assert.equal(b.toBuffer().toString('hex'), expected.toString('hex'));
    // The BEP prints 1224.9308 for 1224.93088982...: four decimals, truncated rather than rounded.
    const exact = estimateFromBitsSet(b.bitsSet);
    assert.ok(exact >= 1224.9308 && exact < 1224.9309, `estimate ${exact}`);
    assert.equal(b.estimate(), 1225);
  });

  it('estimates 0 for an empty filter', () => {
    const b = new ScrapeBloom();
    assert.equal(b.bitsSet, 0);
    assert.equal(b.estimate(), 0);
    assert.ok(b.toBuffer().equals(Buffer.alloc(BLOOM_BYTES)));
  });

  it('sets at most two bits per address, and re-inserting changes nothing', () => {
    const b = new ScrapeBloom();
    b.insertIp('192.168.1.1');
    const once = b.toBuffer();
    assert.ok(b.bitsSet >= 1 && b.bitsSet <= 2);
    b.insertIp('192.168.1.1');
    assert.ok(b.toBuffer().equals(once));
    assert.equal(b.estimate(), 1);
  });

  it('merges as a union: two filters OR-ed equal one filter fed both sets', () => {
    const { v4, v6 } = bepAddresses();
    const a = bloomOf(v4);
    const c = bloomOf(v6);
    const both = bloomOf([...v4, ...v6]);

    const viaFilter = new ScrapeBloom(a.toBuffer());
    viaFilter.merge(c);
    assert.ok(viaFilter.toBuffer().equals(both.toBuffer()));

    const viaBuffer = new ScrapeBloom(c.toBuffer());
    viaBuffer.merge(a.toBuffer());
    assert.ok(viaBuffer.toBuffer().equals(both.toBuffer()));

    // Overlapping sets are counted once: merging a filter with itself is a no-op.
    const self = new ScrapeBloom(both.toBuffer());
    self.merge(both);
    assert.ok(self.toBuffer().equals(both.toBuffer()));
  });

  it('estimates random sets of distinct IPv4 addresses within statistical tolerance', () => {
    // Tolerances are well over 4 standard deviations of the estimator at m = 2048, k = 2
    // (under 0.1, about 1.6 and 9 for 10, 100 and 500 items), so only a real bias fails.
    const cases: [n: number, tolerance: number][] = [
      [10, 2],
      [100, 10],
      [500, 45],
    ];
    const next = rng(0x5eed33);
    for (const [n, tolerance] of cases) {
      for (let trial = 0; trial < 5; trial++) {
        const est = bloomOf(randomIPv4s(n, next)).estimate();
        assert.ok(Math.abs(est - n) <= tolerance, `n=${n} trial=${trial}: estimate ${est}`);
      }
    }
  });

  it('keeps the estimate finite when every bit is set', () => {
    const full = new ScrapeBloom(Buffer.alloc(BLOOM_BYTES, 0xff));
    assert.equal(full.bitsSet, BLOOM_BYTES * 8);
    const est = full.estimate();
    assert.ok(Number.isFinite(est), `estimate ${est}`);
    // Capped at the value for 2047 set bits, and never below a nearly full filter's.
    assert.equal(est, Math.round(estimateFromBitsSet(BLOOM_BYTES * 8 - 1)));
    const almost = Buffer.alloc(BLOOM_BYTES, 0xff);
    almost[0] = 0xfe;
    assert.equal(new ScrapeBloom(almost).estimate(), est);
    assert.ok(est > 6000);
  });

  it('refuses buffers that are not 256 bytes', () => {
    for (const size of [0, 255, 257, 512]) {
      assert.throws(() => new ScrapeBloom(Buffer.alloc(size)), RangeError);
      assert.throws(() => new ScrapeBloom().merge(Buffer.alloc(size)), RangeError);
    }
  });

  it('copies buffers in and out', () => {
    const src = Buffer.alloc(BLOOM_BYTES);
    const b = new ScrapeBloom(src);
    src[0] = 0xff;
    assert.equal(b.bitsSet, 0);
    const out = b.toBuffer();
    out[0] = 0xff;
    assert.equal(b.bitsSet, 0);
  });

  it('hashes every spelling of one IPv6 address alike', () => {
    const spellings = [
      '2001:db8::1',
      '2001:DB8::1',
      '2001:0db8:0000:0000:0000:0000:0000:0001',
      '2001:db8:0:0:0:0:0:1',
      '2001:db8::0.0.0.1',
      '2001:db8::1%eth0',
    ];
    const ref = bloomOf([spellings[0]!]).toBuffer();
    for (const s of spellings) assert.ok(bloomOf([s]).toBuffer().equals(ref), s);

    // :: at either end, and alone.
    assert.ok(bloomOf(['::']).toBuffer().equals(bloomOf(['0:0:0:0:0:0:0:0']).toBuffer()));
    assert.ok(bloomOf(['::1']).toBuffer().equals(bloomOf(['0:0:0:0:0:0:0:1']).toBuffer()));
    assert.ok(bloomOf(['fe80::']).toBuffer().equals(bloomOf(['fe80:0:0:0:0:0:0:0']).toBuffer()));
    assert.ok(!bloomOf(['::1']).toBuffer().equals(bloomOf(['1::']).toBuffer()));
  });

  it('counts an IPv4-mapped IPv6 address as the IPv4 address', () => {
    const ref = bloomOf(['192.0.2.1']).toBuffer();
    for (const s of ['::ffff:192.0.2.1', '::FFFF:c000:201', '0:0:0:0:0:ffff:192.0.2.1']) {
      assert.ok(bloomOf([s]).toBuffer().equals(ref), s);
    }
    // Other embeddings are genuine IPv6 addresses (NAT64 here), hashed as 16 bytes.
    assert.ok(!bloomOf(['64:ff9b::192.0.2.1']).toBuffer().equals(ref));
  });

  it('rejects anything that is not an IP address', () => {
    const bad = ['', 'example.com', '192.0.2', '192.0.2.256', '01.2.3.4', '192.0.2.1:6881', '1::2::3', '[::1]', '2001:db8::g'];
    for (const host of bad) {
      assert.throws(() => new ScrapeBloom().insertIp(host), RangeError, host);
    }
  });
});
