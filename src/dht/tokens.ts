/**
 * Write tokens (BEP 5): a `get_peers` / `get` answer carries a token that the asker must return with
 * `announce_peer` / `put`, proving it owns its address. Token = SHA-1(secret ‖ ip)[0..8]; the secret
 * rotates every 5 minutes and the previous one is still accepted, so a token lives 5 to 10 minutes.
 */
import { createHash } from 'node:crypto';

export const TOKEN_ROTATE_MS = 5 * 60_000;

export class TokenIssuer {
  private current: Buffer;
  private previous: Buffer;
  private rotatedAt: number;

  constructor(
    private readonly random: () => Buffer,
    now: number,
  ) {
    this.current = random();
    this.previous = random();
    this.rotatedAt = now;
  }

  private rotate(now: number): void {
    const periods = Math.floor((now - this.rotatedAt) / TOKEN_ROTATE_MS);
    if (periods <= 0) return;
    // After two or more periods both secrets are stale: nothing issued before may still pass.
    this.previous = periods === 1 ? this.current : this.random();
    this.current = this.random();
    this.rotatedAt += periods * TOKEN_ROTATE_MS;
  }

  private make(secret: Buffer, ip: string): Buffer {
    return createHash('sha1').update(secret).update(ip).digest().subarray(0, 8);
  }

  issue(ip: string, now: number): Buffer {
    this.rotate(now);
    return this.make(this.current, ip);
  }

  valid(token: Uint8Array, ip: string, now: number): boolean {
    this.rotate(now);
    return this.make(this.current, ip).equals(token) || this.make(this.previous, ip).equals(token);
  }
}
