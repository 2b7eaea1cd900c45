/**
 * A BEP 15 UDP tracker client: connect (connection ids live a minute), then announce, each retried
 * with a doubling timeout. One socket per announce keeps it simple; trackers are asked rarely.
 */
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { randomInt } from 'node:crypto';
import type { AddressFilter } from '../net/cidr.js';
import { decodeReply, encodeAnnounce, encodeConnect } from './udp-codec.js';
import type { UdpReply } from './udp-codec.js';
import { TrackerError } from './types.js';
import type { AnnounceRequest, AnnounceResponse } from './types.js';

export interface UdpAnnounceOptions {
  /** First timeout; doubled at each retry (BEP 15 says 15 s; a local tracker answers at once). */
  timeoutMs?: number;
  attempts?: number;
}

export function udpAnnounce(filter: AddressFilter | undefined, o: UdpAnnounceOptions = {}) {
  const timeoutMs = o.timeoutMs ?? 4000;
  const attempts = o.attempts ?? 3;
  return async (url: string, req: AnnounceRequest, signal: AbortSignal): Promise<AnnounceResponse> => {
    const u = new URL(url);
    const hostname = u.hostname.replace(/^\[|\]$/g, '');
    const port = Number(u.port);
    if (!port) throw new TrackerError(`${url} has no port`);
    const host = isIP(hostname) ? hostname : (await lookup(hostname)).address;
    if (filter && !filter.allows(host)) throw new TrackerError(`tracker ${hostname} (${host}) is outside the allowed networks`);
    const ipv6 = isIP(host) === 6;
    const socket = createSocket(ipv6 ? 'udp6' : 'udp4');
    const replies: Buffer[] = [];
    let wake: (() => void) | undefined;
    socket.on('message', (msg, rinfo) => {
      if (rinfo.port !== port) return;
      replies.push(msg);
      wake?.();
    });
    socket.on('error', () => wake?.());
    const exchange = async (packet: Buffer, tid: number): Promise<UdpReply> => {
      for (let attempt = 0; attempt < attempts; attempt++) {
        signal.throwIfAborted();
        socket.send(packet, port, host);
        const deadline = Date.now() + timeoutMs * 2 ** attempt;
        while (Date.now() < deadline) {
          const reply = replies.shift();
          if (reply) {
            let r: UdpReply;
            try {
              r = decodeReply(reply, ipv6);
            } catch {
              continue;
            }
            if (r.tid !== tid) continue;
            if (r.action === 'error') throw new TrackerError(`tracker refused: ${r.message}`);
            return r;
          }
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
            wake = () => {
              clearTimeout(t);
              resolve();
            };
            signal.addEventListener('abort', wake, { once: true });
          });
          wake = undefined;
        }
      }
      throw new TrackerError(`UDP tracker ${u.host} did not answer`);
    };
    try {
      const tid1 = randomInt(2 ** 32);
      const c = await exchange(encodeConnect(tid1), tid1);
      if (c.action !== 'connect') throw new TrackerError('UDP tracker answered connect with something else');
      const tid2 = randomInt(2 ** 32);
      const a = await exchange(encodeAnnounce(c.connectionId, tid2, req), tid2);
      if (a.action !== 'announce') throw new TrackerError('UDP tracker answered announce with something else');
      return a.response;
    } finally {
      socket.close();
    }
  };
}
