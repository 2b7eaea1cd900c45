/**
 * Node ids (BEP 5) and BEP 42's ids bound to the external address: the BEP's test vectors, the
 * CRC32C it uses, and the distance helpers the routing table and lookups sort by.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { commonPrefixBits, compareDistance, crc32c, distance, isLocalAddress, secureNodeId, validNodeId } from '../../src/dht/node-id.js';

/** bep_0042.rst "test vectors": IP, rand (id[19]), example node id. */
const VECTORS: [string, number, string][] = [
  ['124.31.75.21', 1, '5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401'],
  ['21.75.31.124', 86, '5a3ce9c14e7a08645677bbd1cfe7d8f956d53256'],
  ['65.23.51.170', 22, 'a5d43220bc8f112a3d426c84764f8c2a1150e616'],
  ['84.124.73.14', 65, '1b0321dd1bb1fe518101ceef99462b947a01ff41'],
  ['43.213.53.83', 90, 'e56f6cbf5b7c4be0237986d5243b87aa6d51305a'],
];

describe('BEP 42 node ids', () => {
  it('CRC32C (Castagnoli) of the standard check string', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(0)), 0);
  });

  for (const [ip, rand, hex] of VECTORS) {
    it(`test vector ${ip} rand ${rand}`, () => {
      const example = Buffer.from(hex, 'hex');
      assert.equal(example[19], rand);
      assert.ok(validNodeId(example, ip), 'the example id is valid for its IP');
      // Made from the same random bytes (the example's own), our id equals the example.
      const made = secureNodeId(ip, example);
      assert.equal(made.toString('hex'), hex);
      // Whatever the other random bytes, the first 21 bits and the last byte are set by IP and rand.
      const other = Buffer.alloc(20, 0xa5);
      other[19] = rand;
      const id = secureNodeId(ip, other);
      assert.deepEqual(id.subarray(0, 2), example.subarray(0, 2));
      assert.equal(id[2]! & 0xf8, example[2]! & 0xf8);
      assert.equal(id[2]! & 0x07, 0xa5 & 0x07, 'the low 3 bits of byte 2 stay random');
      assert.deepEqual(id.subarray(3, 19), other.subarray(3, 19));
      assert.equal(id[19], rand);
      assert.ok(validNodeId(id, ip));
    });
  }

  it('an id made for one IP does not fit another (non-local) IP, nor a changed prefix', () => {
    const id = Buffer.from(VECTORS[0]![2], 'hex');
    assert.ok(!validNodeId(id, '124.31.75.22'));
    assert.ok(!validNodeId(id, '21.75.31.124'));
    const bad = Buffer.from(id);
    bad[0]! ^= 0x01;
    assert.ok(!validNodeId(bad, '124.31.75.21'));
    const bad2 = Buffer.from(id);
    bad2[2]! ^= 0x08; // the 21st bit
    assert.ok(!validNodeId(bad2, '124.31.75.21'));
    const fine = Buffer.from(id);
    fine[2]! ^= 0x07; // random bits
    fine[10]! ^= 0xff;
    assert.ok(validNodeId(fine, '124.31.75.21'));
  });

  it('only the bits of the IP under the mask 03.0f.3f.ff count', () => {
    const id = Buffer.from(VECTORS[0]![2], 'hex');
    assert.ok(validNodeId(id, '128.31.75.21'), '124 and 128 agree in their low 2 bits');
    assert.ok(validNodeId(id, '124.47.75.21'), '31 and 47 agree in their low 4 bits');
    assert.ok(validNodeId(id, '124.31.11.21'), '75 and 11 agree in their low 6 bits');
    assert.ok(!validNodeId(id, '124.31.75.20'));
  });

  it('local addresses are exempt', () => {
    for (const ip of ['127.0.0.1', '10.1.2.3', '192.168.1.1', '172.16.0.1', '172.31.255.255', '169.254.0.1', '::1', 'fd00::1', 'fe80::1']) {
      assert.ok(isLocalAddress(ip), ip);
      assert.ok(validNodeId(Buffer.alloc(20), ip), ip);
    }
    for (const ip of ['172.32.0.1', '11.0.0.1', '8.8.8.8', '192.169.0.1', '2001:db8::1', 'fec0::1']) assert.ok(!isLocalAddress(ip), ip);
  });

  it('IPv6: the high 64 bits under the mask 01.03.07.0f.1f.3f.7f.ff count, the interface id does not', () => {
    const rnd = Buffer.from('00112233445566778899aabbccddeeff00112205', 'hex');
    const ip = '2001:db8:85a3:1234::8a2e:370:7334';
    const id = secureNodeId(ip, rnd);
    assert.ok(validNodeId(id, ip));
    assert.equal(id[19], 0x05);
    assert.ok(validNodeId(id, '2001:db8:85a3:1234:ffff::1'), 'same /64, other interface id');
    assert.ok(!validNodeId(id, '2001:db8:85a3:1235::8a2e:370:7334'), 'another /64');
    // 0x20 and 0x21 differ in bit 0, under mask 0x01: the first byte's low bit counts.
    assert.ok(!validNodeId(id, '2101:db8:85a3:1234::1'));
    // 0x20 and 0x22 differ only in bit 1, outside mask 0x01.
    assert.ok(validNodeId(id, '2201:db8:85a3:1234::1'));
    // An IPv4-mapped address is its IPv4 address.
    assert.equal(secureNodeId('::ffff:124.31.75.21', Buffer.from(VECTORS[0]![2], 'hex')).subarray(0, 3).toString('hex'), VECTORS[0]![2].slice(0, 6));
  });

  it('property: secureNodeId makes an id valid for its IPv6 address', () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.uint8Array({ minLength: 20, maxLength: 20 }), (ip, rnd) => {
        fc.pre(!isLocalAddress(ip) && !ip.includes('.'));
        assert.ok(validNodeId(secureNodeId(ip, Buffer.from(rnd)), ip));
      }),
      { seed: 43, numRuns: 300 },
    );
  });

  it('property: secureNodeId always makes an id valid for its IP', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.uint8Array({ minLength: 20, maxLength: 20 }), (ip, rnd) => {
        const id = secureNodeId(ip, Buffer.from(rnd));
        assert.equal(id.length, 20);
        assert.ok(validNodeId(id, ip));
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});

describe('distances', () => {
  const id = (s: string): Buffer => Buffer.from(s.padEnd(40, '0'), 'hex');

  it('distance is XOR; commonPrefixBits counts shared leading bits', () => {
    assert.equal(distance(id('ff'), id('0f')).toString('hex'), 'f0'.padEnd(40, '0'));
    assert.equal(commonPrefixBits(id('80'), id('00')), 0);
    assert.equal(commonPrefixBits(id('40'), id('00')), 1);
    assert.equal(commonPrefixBits(id('0001'), id('0000')), 15);
    assert.equal(commonPrefixBits(id('ab'), id('ab')), 160);
  });

  it('property: compareDistance agrees with comparing XOR distances', () => {
    const idArb = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((u) => Buffer.from(u));
    fc.assert(
      fc.property(idArb, idArb, idArb, (t, a, b) => {
        const want = Math.sign(Buffer.compare(distance(t, a), distance(t, b)));
        assert.equal(compareDistance(t, a, b), want);
        assert.equal(compareDistance(t, b, a), -want || 0);
      }),
      { seed: 7, numRuns: 500 },
    );
  });
});
