/**
 * Driving a pure DhtNode by hand in unit tests: seeded randomness, a fake `now`, encoded queries in
 * and decoded packets out, and a way to give the node confirmed contacts (it pings, we answer).
 */
import { DhtNode } from '../../../src/dht/dht-node.js';
import type { DhtNodeOptions } from '../../../src/dht/dht-node.js';
import { decodeKrpc, encodeQuery, encodeResponse } from '../../../src/dht/krpc.js';
import type { KrpcMessage } from '../../../src/dht/krpc.js';
import type { Encodable } from '../../../src/bencode/index.js';
import type { PeerAddress } from '../../../src/net/compact.js';
import { seededRng } from './swarm-helpers.js';

export const OUR_ID = Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex');

export interface Deps {
  random(n: number): Buffer;
  rng(): number;
}

export function seededDeps(seed: number): Deps {
  const rng = seededRng(seed);
  return {
    rng,
    random: (n) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(rng() * 256);
      return b;
    },
  };
}

export function makeNode(opts: Partial<DhtNodeOptions> = {}, now = 0, seed = 1): DhtNode {
  return new DhtNode({ id: OUR_ID, ...opts }, seededDeps(seed), now);
}

export interface Sent {
  to: PeerAddress;
  bytes: Buffer;
  msg: KrpcMessage;
}

/** Everything the node has queued to send, decoded. */
export function drain(node: DhtNode): Sent[] {
  const out: Sent[] = [];
  let p;
  while ((p = node.pollTransmit()) !== undefined) out.push({ ...p, msg: decodeKrpc(p.bytes) });
  return out;
}

export const addr = (i: number, port = 6881): PeerAddress => ({ host: `10.0.${(i >> 8) & 255}.${i & 255}`, port });

/** An id whose distance from `base` has its first set bit at `bit` (0 = most significant), the rest random. */
export function idAtPrefix(base: Buffer, bit: number, rnd: () => number): Buffer {
  const id = Buffer.alloc(20);
  for (let i = 0; i < 20; i++) id[i] = Math.floor(rnd() * 256);
  for (let b = 0; b < bit; b++) {
    const mask = 0x80 >> (b & 7);
    id[b >> 3] = (id[b >> 3]! & ~mask) | (base[b >> 3]! & mask);
  }
  if (bit < 160) {
    const mask = 0x80 >> (bit & 7);
    id[bit >> 3] = (id[bit >> 3]! & ~mask) | (~base[bit >> 3]! & mask);
  }
  return id;
}

let tidCounter = 0;

export interface QueryOutcome {
  /** The answer to our query (response or error), if any. */
  reply: KrpcMessage | undefined;
  /** Everything else the node sent meanwhile (pings of newcomers, ...). */
  others: Sent[];
}

/** Sends one query to the node as `from` and collects what comes back. */
export function ask(
  node: DhtNode,
  from: PeerAddress,
  q: string,
  args: Record<string, Encodable | undefined>,
  now: number,
  opts: { readOnly?: boolean; t?: Buffer } = {},
): QueryOutcome {
  const t = opts.t ?? Buffer.from([0x74, tidCounter++ & 0xff]);
  node.handlePacket(encodeQuery(t, q, args, { readOnly: opts.readOnly === true }), from, now);
  const sent = drain(node);
  const reply = sent.find((s) => s.to.host === from.host && s.to.port === from.port && s.msg.y !== 'q' && s.msg.t.equals(t));
  return { reply: reply?.msg, others: sent.filter((s) => s.msg !== reply?.msg) };
}

/** The `r` dictionary of a response, failing the test on anything else. */
export function responseOf(m: KrpcMessage | undefined): Map<string, unknown> {
  if (!m || m.y !== 'r') throw new Error(`expected a response, got ${m ? JSON.stringify({ y: m.y, ...(m.y === 'e' ? { code: m.code, message: m.message } : {}) }) : 'nothing'}`);
  return m.r;
}

export function errorOf(m: KrpcMessage | undefined): { code: number; message: string } {
  if (!m || m.y !== 'e') throw new Error(`expected an error, got ${m ? m.y : 'nothing'}`);
  return { code: m.code, message: m.message };
}

/** Answers every query in `sent` addressed to `who` with a bare response carrying `id`. */
export function answerAll(node: DhtNode, sent: readonly Sent[], who: PeerAddress, id: Buffer, now: number, extra: Record<string, Encodable | undefined> = {}): number {
  let n = 0;
  for (const s of sent) {
    if (s.msg.y !== 'q' || s.to.host !== who.host || s.to.port !== who.port) continue;
    node.handlePacket(encodeResponse(s.msg.t, { id, ...extra }), who, now);
    n++;
  }
  return n;
}

/** Makes `node` know `id` at `at` as a confirmed contact: it queries us (the node pings it back) and we answer the ping. */
export function befriend(node: DhtNode, id: Buffer, at: PeerAddress, now: number): void {
  const { others } = ask(node, at, 'ping', { id }, now);
  answerAll(node, others, at, id, now);
}
