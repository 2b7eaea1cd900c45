/**
 * BEP 44 items: immutable targets (SHA-1 of the bencoded value), mutable targets (SHA-1 of key ‖
 * salt), the signed buffer layout, and ed25519 signatures, against bep_0044.rst's test vectors.
 *
 * The BEP lists a 64-byte "private key" that is the ref10/nightcracker *expanded* key (SHA-512 of an
 * unknown seed, clamped), not seed ‖ public key: its first 32 bytes are not a seed (keysFromSeed of
 * them gives another public key). So the vectors' signatures are checked with `verifyMutable`, and
 * reproduced by an independent Ed25519 (test/unit/support/dht-ed25519.ts) from the expanded key; that
 * same implementation then checks `signMutable` / `keysFromSeed` for seeds we choose.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { encode } from '../../src/bencode/index.js';
import { generateKeys, immutableTarget, keysFromSeed, mutableTarget, signMutable, signedBytes, verifyMutable } from '../../src/dht/items.js';
import { expandSeed, publicKeyOfExpanded, signExpanded } from './support/dht-ed25519.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const VALUE = Buffer.from('12:Hello World!', 'latin1');
const PUBLIC_KEY = hex('77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548');
const PRIVATE_KEY = hex(`e06d3183d14159228433ed599221b80bd0a5ce8352e4bdf0262f76786ef1c74d
  b7e7a9fea2c0eb269d61e3b38e450a22e754941ac78479d6c54e1faf6037881d`);
const TEST1 = {
  signed: '3:seqi1e1:v12:Hello World!',
  target: '4a533d47ec9c7d95b1ad75f576cffc641853b750',
  sig: hex(`305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff
    1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01`),
};
const SALT = Buffer.from('foobar');
const TEST2 = {
  signed: '4:salt6:foobar3:seqi1e1:v12:Hello World!',
  target: '411eba73b6f087ca51a3795d9c8c938d365e32c1',
  sig: hex(`6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17d
    df9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08`),
};

describe('BEP 44 test vectors', () => {
  it('test 3 (immutable): the target is the SHA-1 of the bencoded value', () => {
    assert.equal(immutableTarget(VALUE).toString('hex'), 'e5f96f6f38320f0f33959cb4d3d656452117aadb');
    assert.equal(immutableTarget(encode('Hello World!')).toString('hex'), 'e5f96f6f38320f0f33959cb4d3d656452117aadb');
    const v = encode({ a: [1, 2, 'x'] });
    assert.deepEqual(immutableTarget(v), createHash('sha1').update(v).digest());
  });

  it('test 1 (mutable): signed buffer, target, and the signature verifies', () => {
    assert.equal(signedBytes(VALUE, 1).toString('latin1'), TEST1.signed);
    assert.equal(mutableTarget(PUBLIC_KEY).toString('hex'), TEST1.target);
    assert.equal(mutableTarget(PUBLIC_KEY, Buffer.alloc(0)).toString('hex'), TEST1.target, 'an empty salt is no salt');
    assert.ok(verifyMutable(PUBLIC_KEY, TEST1.sig, VALUE, 1));
  });

  it('test 2 (mutable with salt "foobar"): signed buffer, target, and the signature verifies', () => {
    assert.equal(signedBytes(VALUE, 1, SALT).toString('latin1'), TEST2.signed);
    assert.equal(mutableTarget(PUBLIC_KEY, SALT).toString('hex'), TEST2.target);
    assert.ok(verifyMutable(PUBLIC_KEY, TEST2.sig, VALUE, 1, SALT));
  });

  it('the vectors do not verify with anything changed', () => {
    assert.ok(!verifyMutable(PUBLIC_KEY, TEST1.sig, VALUE, 2), 'other seq');
    assert.ok(!verifyMutable(PUBLIC_KEY, TEST1.sig, VALUE, 1, SALT), 'salt added');
    assert.ok(!verifyMutable(PUBLIC_KEY, TEST2.sig, VALUE, 1), 'salt dropped');
    assert.ok(!verifyMutable(PUBLIC_KEY, TEST2.sig, VALUE, 1, Buffer.from('foobaz')), 'other salt');
    assert.ok(!verifyMutable(PUBLIC_KEY, TEST1.sig, Buffer.from('12:Hello World?'), 1), 'other value');
    const sig = Buffer.from(TEST1.sig);
    sig[10]! ^= 1;
    assert.ok(!verifyMutable(PUBLIC_KEY, sig, VALUE, 1), 'flipped signature bit');
    const key = Buffer.from(PUBLIC_KEY);
    key[0]! ^= 1;
    assert.ok(!verifyMutable(key, TEST1.sig, VALUE, 1), 'other key');
    assert.ok(!verifyMutable(PUBLIC_KEY.subarray(0, 31), TEST1.sig, VALUE, 1), 'short key');
    assert.ok(!verifyMutable(PUBLIC_KEY, TEST1.sig.subarray(0, 63), VALUE, 1), 'short signature');
    assert.ok(!verifyMutable(Buffer.alloc(32), TEST1.sig, VALUE, 1), 'not a curve point');
  });

  it("the BEP's private key is an expanded key: it yields the BEP's public key and signatures", () => {
    assert.deepEqual(publicKeyOfExpanded(PRIVATE_KEY), PUBLIC_KEY);
    assert.deepEqual(signExpanded(PRIVATE_KEY, signedBytes(VALUE, 1)), TEST1.sig);
    assert.deepEqual(signExpanded(PRIVATE_KEY, signedBytes(VALUE, 1, SALT)), TEST2.sig);
    // Its first half is not a seed: read as one, it gives a different key.
    assert.notDeepEqual(keysFromSeed(PRIVATE_KEY.subarray(0, 32)).publicKey, PUBLIC_KEY);
  });
});

describe('BEP 44 signing with a 32-byte seed', () => {
  it('RFC 8032 test 1: keysFromSeed gives the standard public key', () => {
    const seed = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    assert.equal(keysFromSeed(seed).publicKey.toString('hex'), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    assert.deepEqual(publicKeyOfExpanded(expandSeed(seed)), keysFromSeed(seed).publicKey);
  });

  it('property: signMutable is standard Ed25519 over signedBytes, and verifyMutable accepts it', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 120 }),
        fc.nat({ max: 2 ** 40 }),
        fc.option(fc.uint8Array({ minLength: 1, maxLength: 64 }), { nil: undefined }),
        (seedU, valueU, seq, saltU) => {
          const seed = Buffer.from(seedU);
          const v = encode(Buffer.from(valueU));
          const salt = saltU ? Buffer.from(saltU) : undefined;
          const keys = keysFromSeed(seed);
          const sig = signMutable(seed, v, seq, salt);
          assert.equal(sig.length, 64);
          assert.deepEqual(sig, signExpanded(expandSeed(seed), signedBytes(v, seq, salt)));
          assert.ok(verifyMutable(keys.publicKey, sig, v, seq, salt));
          assert.ok(!verifyMutable(keys.publicKey, sig, v, seq + 1, salt));
        },
      ),
      { seed: 44, numRuns: 25 },
    );
  });

  it('generateKeys gives a seed and its public key', () => {
    const k = generateKeys();
    assert.equal(k.seed.length, 32);
    assert.equal(k.publicKey.length, 32);
    assert.deepEqual(keysFromSeed(k.seed).publicKey, k.publicKey);
    const v = encode('x');
    assert.ok(verifyMutable(k.publicKey, signMutable(k.seed, v, 0), v, 0));
  });
});
