/**
 * Network helpers: CIDR allow / deny lists (IPv4, IPv6, IPv4-mapped IPv6) and the compact peer
 * encodings shared by trackers, PEX and the DHT (BEP 23, BEP 7 / 11 for IPv6).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import fc from 'fast-check';
import { AddressFilter, parseCidr } from '../../src/net/cidr.js';
import { addressKey, decodeCompactIPv4, decodeCompactIPv6, encodeCompactIPv4, encodeCompactIPv6, parseAddress } from '../../src/net/compact.js';
import type { PeerAddress } from '../../src/net/compact.js';
import { ArgumentError } from '../../src/util/errors.js';
import { hex } from './support/swarm-helpers.js';

function isArgumentError(e: unknown): boolean {
  assert.ok(e instanceof ArgumentError, `not an ArgumentError: ${String(e)}`);
  assert.equal(e.code, 'ERR_SHOAL_ARGUMENT');
  return true;
}

/** The WHATWG canonical text of an IPv6 address (throws if it is not one). */
const canonical6 = (h: string): string => new URL(`http://[${h}]/`).hostname;

describe('CIDR filter', () => {
  it('matches IPv4 ranges: /8, /32, a bare address, /0', () => {
    const f = new AddressFilter(['127.0.0.0/8']);
    assert.ok(f.allows('127.0.0.1'));
    assert.ok(f.allows('127.255.255.255'));
    assert.ok(!f.allows('128.0.0.1'));
    assert.ok(!f.allows('126.255.255.255'));
    assert.ok(!f.allows('10.0.0.1'));
    assert.ok(!f.allows('::1'), 'an IPv6 address is not in an IPv4 range');

    const one = new AddressFilter(['10.1.2.3/32']);
    assert.ok(one.allows('10.1.2.3'));
    assert.ok(!one.allows('10.1.2.4'));
    const bare = new AddressFilter(['10.1.2.3']);
    assert.ok(bare.allows('10.1.2.3') && !bare.allows('10.1.2.2'));

    const all4 = new AddressFilter(['0.0.0.0/0']);
    for (const a of ['0.0.0.0', '1.2.3.4', '255.255.255.255', '127.0.0.1']) assert.ok(all4.allows(a), a);
    assert.ok(!all4.allows('::1'));

    const odd = new AddressFilter(['192.168.4.0/22']);
    assert.ok(odd.allows('192.168.7.255') && odd.allows('192.168.4.0'));
    assert.ok(!odd.allows('192.168.8.0') && !odd.allows('192.168.3.255'));
  });

  it('masks host bits given with a prefix', () => {
    const f = new AddressFilter(['10.1.2.3/8']);
    assert.ok(f.allows('10.200.0.1'));
    assert.ok(!f.allows('11.0.0.1'));
    assert.deepEqual(parseCidr('10.1.2.3/8'), parseCidr('10.0.0.0/8'));
  });

  it('matches IPv6 ranges, compressed or not, bracketed or not', () => {
    const f = new AddressFilter(['2001:db8::/32']);
    assert.ok(f.allows('2001:db8::1'));
    assert.ok(f.allows('2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'));
    assert.ok(f.allows('[2001:db8::1]'));
    assert.ok(f.allows('2001:0db8:0000:0000:0000:0000:0000:0001'));
    assert.ok(!f.allows('2001:db9::1'));
    assert.ok(!f.allows('127.0.0.1'));

    const lo = new AddressFilter(['::1/128']);
    assert.ok(lo.allows('::1') && lo.allows('0:0:0:0:0:0:0:1'));
    assert.ok(!lo.allows('::2') && !lo.allows('::'));

    const ll = new AddressFilter(['fe80::/10']);
    assert.ok(ll.allows('fe80::1') && ll.allows('febf::1'));
    assert.ok(!ll.allows('fec0::1'));

    const all6 = new AddressFilter(['::/0']);
    assert.ok(all6.allows('::') && all6.allows('ffff::1') && all6.allows('2001:db8::'));
    assert.ok(!all6.allows('1.2.3.4'));
  });

  it('checks IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) as IPv4', () => {
    const f = new AddressFilter(['127.0.0.0/8']);
    assert.ok(f.allows('::ffff:127.0.0.1'));
    assert.ok(f.allows('::FFFF:127.0.0.2'));
    assert.ok(f.allows('[::ffff:127.0.0.1]'));
    assert.ok(!f.allows('::ffff:10.0.0.1'));
    const deny = new AddressFilter([], ['127.0.0.1/32']);
    assert.ok(!deny.allows('::ffff:127.0.0.1'));
    assert.ok(deny.allows('::ffff:127.0.0.2'));
    assert.ok(new AddressFilter(['::ffff:127.0.0.0/8']).allows('127.0.0.1'));
  });

  it('checks IPv4-mapped addresses written in hex or in full form as IPv4 too', () => {
    // ::ffff:a00:1 and 0:0:0:0:0:ffff:10.0.0.1 are both 10.0.0.1 (and the hex form is what a
    // compact peers6 / added6 entry decodes to): a deny list must not be bypassed by them.
    const deny = new AddressFilter([], ['10.0.0.0/8']);
    assert.ok(!deny.allows('::ffff:a00:1'), '::ffff:a00:1 bypasses the deny list');
    assert.ok(!deny.allows('0:0:0:0:0:ffff:10.0.0.1'), '0:0:0:0:0:ffff:10.0.0.1 bypasses the deny list');
    const allow = new AddressFilter(['127.0.0.0/8']);
    assert.ok(allow.allows('::ffff:7f00:1'), '::ffff:7f00:1 is 127.0.0.1');
  });

  it('deny overrides allow; an empty allow list allows all but the denied', () => {
    const f = new AddressFilter(['127.0.0.0/8'], ['127.0.0.2/32', '127.1.0.0/16']);
    assert.ok(f.allows('127.0.0.1'));
    assert.ok(!f.allows('127.0.0.2'));
    assert.ok(!f.allows('127.1.2.3'));
    assert.ok(f.restricted);
    const d = new AddressFilter([], ['10.0.0.0/8', 'fc00::/7']);
    assert.ok(!d.allows('10.9.9.9') && !d.allows('fd00::1'));
    assert.ok(d.allows('8.8.8.8') && d.allows('2001:db8::1'));
    assert.ok(new AddressFilter(['0.0.0.0/0'], ['0.0.0.0/0']).allows('1.1.1.1') === false);
    const open = new AddressFilter();
    assert.equal(open.restricted, false);
    assert.ok(open.allows('1.2.3.4') && open.allows('::1'));
  });

  it('allowsIPv6: only when no allow list is set or one names an IPv6 range (so a loopback-only node runs no IPv6)', () => {
    assert.equal(new AddressFilter().allowsIPv6, true);
    assert.equal(new AddressFilter([], ['10.0.0.0/8']).allowsIPv6, true);
    assert.equal(new AddressFilter(['127.0.0.0/8']).allowsIPv6, false);
    assert.equal(new AddressFilter(['127.0.0.0/8', '2001:db8::/64']).allowsIPv6, true);
  });

  it('never allows host names when an allow list is set', () => {
    assert.ok(!new AddressFilter(['127.0.0.0/8']).allows('localhost'));
    assert.ok(!new AddressFilter(['0.0.0.0/0', '::/0']).allows('example.com'));
  });

  it('reads SHOAL_NET_ALLOW / SHOAL_NET_DENY, adding the given lists', () => {
    const f = AddressFilter.fromEnv({ SHOAL_NET_ALLOW: ' 127.0.0.0/8 , ::1 ', SHOAL_NET_DENY: '127.0.0.9' }, ['10.0.0.0/8'], ['10.0.0.1']);
    assert.ok(f.allows('127.0.0.1') && f.allows('::1') && f.allows('10.0.0.2'));
    assert.ok(!f.allows('127.0.0.9') && !f.allows('10.0.0.1') && !f.allows('192.168.0.1'));
    assert.equal(AddressFilter.fromEnv({}).restricted, false);
    assert.equal(AddressFilter.fromEnv({ SHOAL_NET_ALLOW: ',,' }).restricted, false);
  });

  it('refuses malformed CIDRs with ArgumentError', () => {
    for (const bad of ['foo', '', '/8', '10.0.0.0/33', '::1/129', '10.0.0.0/-1', '10.0.0.0/8.5', '256.0.0.1/8', '10.0.0/8', '10.0.0.0/abc', 'localhost/8', '1::2::3/64']) {
      assert.throws(() => parseCidr(bad), isArgumentError, JSON.stringify(bad));
    }
    assert.throws(() => new AddressFilter(['127.0.0.0/8', 'nope']), isArgumentError);
    assert.throws(() => new AddressFilter([], ['10.0.0.0/40']), isArgumentError);
    assert.throws(() => AddressFilter.fromEnv({ SHOAL_NET_DENY: '1.2.3.4/99' }), isArgumentError);
  });

  it('refuses an empty or repeated prefix instead of reading it as /0', () => {
    assert.throws(() => parseCidr('10.0.0.0/'), isArgumentError, '"10.0.0.0/" must not become 10.0.0.0/0');
    assert.throws(() => parseCidr('10.0.0.0/8/16'), isArgumentError, '"10.0.0.0/8/16" is not a CIDR');
  });
});

describe('compact peers (BEP 23)', () => {
  it('IPv4: 4 address bytes then 2 port bytes, big-endian', () => {
    const peers = [
      { host: '127.0.0.1', port: 6881 },
      { host: '10.20.30.40', port: 65535 },
    ];
    const b = encodeCompactIPv4(peers);
    assert.deepEqual(b, hex('7f0000011ae1 0a141e28ffff'));
    assert.deepEqual(decodeCompactIPv4(b), peers);
  });

  it('IPv4: skips port-0 entries, a ragged tail, and non-IPv4 hosts', () => {
    assert.deepEqual(decodeCompactIPv4(hex('7f0000010000 7f0000020001 7f00')), [{ host: '127.0.0.2', port: 1 }]);
    assert.deepEqual(decodeCompactIPv4(Buffer.alloc(0)), []);
    assert.deepEqual(encodeCompactIPv4([{ host: '::1', port: 1 }, { host: 'example.com', port: 2 }, { host: '1.2.3.4', port: 3 }]), hex('010203040003'));
  });

  it('IPv4: decodes from a view at an offset', () => {
    const big = hex('ffff 7f0000011ae1 ffff');
    assert.deepEqual(decodeCompactIPv4(big.subarray(2, 8)), [{ host: '127.0.0.1', port: 6881 }]);
    assert.deepEqual(decodeCompactIPv4(new Uint8Array(big.buffer, big.byteOffset + 2, 6)), [{ host: '127.0.0.1', port: 6881 }]);
  });

  it('IPv4 round-trips (property)', () => {
    const peerArb = fc
      .tuple(fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)), fc.integer({ min: 1, max: 65535 }))
      .map(([octets, port]): PeerAddress => ({ host: octets.join('.'), port }));
    fc.assert(
      fc.property(fc.array(peerArb, { maxLength: 20 }), (peers) => {
        const b = encodeCompactIPv4(peers);
        assert.equal(b.length, 6 * peers.length);
        assert.deepEqual(decodeCompactIPv4(b), peers);
      }),
      { seed: 5, numRuns: 300 },
    );
  });

  it('IPv6: 16 address bytes then 2 port bytes', () => {
    const b = encodeCompactIPv6([
      { host: '2001:db8::1', port: 6881 },
      { host: 'fe80:1:2:3:4:5:6:7', port: 1 },
    ]);
    assert.deepEqual(b, hex('20010db8000000000000000000000001 1ae1 fe800001000200030004000500060007 0001'));
    assert.deepEqual(decodeCompactIPv6(b), [
      { host: '2001:db8::1', port: 6881 },
      { host: 'fe80:1:2:3:4:5:6:7', port: 1 },
    ]);
    assert.deepEqual(encodeCompactIPv6([{ host: '127.0.0.1', port: 1 }, { host: '::ffff:127.0.0.1', port: 2 }]), Buffer.alloc(0));
  });

  it('IPv6: skips port-0 entries and a ragged tail', () => {
    assert.deepEqual(decodeCompactIPv6(hex('20010db8000000000000000000000001 0000 20010db8000000000000000000000002 0050 2001')), [{ host: '2001:db8::2', port: 80 }]);
  });

  it('IPv6: every address decodes to valid text that encodes back to the same bytes', () => {
    for (const h of ['::1', '::', '::ffff:a00:1', '::2:3', 'fe80::', '1:0:0:2:0:0:0:3', '2001:db8:0:1::']) {
      const bytes = encodeCompactIPv6([{ host: h, port: 80 }]);
      const [back] = decodeCompactIPv6(bytes);
      assert.ok(back && isIPv6(back.host), `${h} decoded to ${JSON.stringify(back?.host)}, not an IPv6 address`);
      assert.equal(canonical6(back.host), canonical6(h));
    }
    const groupArb = fc.oneof(fc.constant(0), fc.constant(0), fc.nat(0xffff));
    fc.assert(
      fc.property(fc.array(groupArb, { minLength: 8, maxLength: 8 }), fc.integer({ min: 1, max: 65535 }), (groups, port) => {
        const bytes = Buffer.alloc(18);
        groups.forEach((g, i) => bytes.writeUInt16BE(g, i * 2));
        bytes.writeUInt16BE(port, 16);
        const [p] = decodeCompactIPv6(bytes);
        assert.ok(p && isIPv6(p.host), `${bytes.toString('hex')} decoded to ${JSON.stringify(p?.host)}`);
        assert.equal(p.port, port);
        assert.deepEqual(encodeCompactIPv6([p]), bytes);
      }),
      { seed: 6, numRuns: 400 },
    );
  });
});

describe('addresses', () => {
  it('parseAddress and addressKey', () => {
    assert.deepEqual(parseAddress('127.0.0.1:6881'), { host: '127.0.0.1', port: 6881 });
    assert.deepEqual(parseAddress('[2001:db8::1]:80'), { host: '2001:db8::1', port: 80 });
    assert.equal(parseAddress('127.0.0.1:0'), undefined);
    assert.equal(parseAddress('127.0.0.1:65536'), undefined);
    assert.equal(parseAddress('127.0.0.1'), undefined);
    assert.equal(parseAddress('2001:db8::1:80'), undefined);
    const keys = (a: PeerAddress): string => addressKey(a);
    assert.equal(keys({ host: '127.0.0.1', port: 1 }), '127.0.0.1:1');
    assert.equal(keys({ host: '::1', port: 2 }), '[::1]:2');
    assert.deepEqual(parseAddress(keys({ host: '2001:db8::5', port: 9 })), { host: '2001:db8::5', port: 9 });
  });
});
