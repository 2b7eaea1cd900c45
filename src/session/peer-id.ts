/** Azureus-style peer ids (BEP 20): "-SH0100-" then 12 random characters. */
import { randomBytes } from 'node:crypto';

export function makePeerId(version: string, random: (n: number) => Buffer = randomBytes): Buffer {
  const [major = '0', minor = '0', patch = '0'] = version.split('.');
  const v = `${major.slice(-1)}${minor.padStart(2, '0').slice(-2)}${patch.slice(-1)}`;
  const prefix = Buffer.from(`-SH${v}-`, 'latin1');
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const rnd = random(12);
  const tail = Buffer.from(Array.from(rnd, (b) => alphabet.charCodeAt(b % alphabet.length)));
  return Buffer.concat([prefix, tail]);
}
