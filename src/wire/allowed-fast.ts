/**
 * BEP 6 allowed-fast set: the canonical k pieces a peer at `ipv4` may fetch from us while choked.
 * Computed from the peer's address and the info-hash so both ends agree on it.
 */
import { createHash } from 'node:crypto';

export function allowedFastSet(ipv4: string, infoHash: Buffer, pieceCount: number, k: number): number[] {
  const parts = ipv4.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) return [];
  const want = Math.min(k, pieceCount);
  const out: number[] = [];
  let x: Buffer = Buffer.concat([Buffer.from([parts[0]!, parts[1]!, parts[2]!, 0]), infoHash.subarray(0, 20)]);
  while (out.length < want) {
    x = createHash('sha1').update(x).digest();
    for (let i = 0; i < 5 && out.length < want; i++) {
      const index = x.readUInt32BE(i * 4) % pieceCount;
      if (!out.includes(index)) out.push(index);
    }
  }
  return out;
}
