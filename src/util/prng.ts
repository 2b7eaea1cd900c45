/**
 * A small, fast, seedable PRNG (xoshiro128**): the engine's `Rng` port in production is seeded once
 * from the system's entropy; in simulation from the scenario's seed. Not for cryptography.
 */
export function xoshiro128(seed: number | readonly [number, number, number, number]): () => number {
  let [a, b, c, d] = typeof seed === 'number' ? splitmix(seed) : seed;
  if ((a | b | c | d) === 0) a = 1;
  return () => {
    const t = b << 9;
    let r = Math.imul(b, 5);
    r = Math.imul((r << 7) | (r >>> 25), 9);
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
    return (r >>> 0) / 4294967296;
  };
}

function splitmix(seed: number): [number, number, number, number] {
  let x = seed >>> 0;
  const next = (): number => {
    x = (x + 0x9e3779b9) | 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  return [next(), next(), next(), next()];
}
