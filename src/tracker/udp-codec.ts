/**
 * BEP 15 UDP tracker protocol messages (pure codecs). All integers big-endian.
 *   connect:  <protocol id 0x41727101980><action 0><transaction id>
 *   announce: <connection id><action 1><transaction id><info-hash><peer id><downloaded><left><uploaded>
 *             <event><ip 0><key><num_want><port>
 */
import { decodeCompactIPv4, decodeCompactIPv6 } from '../net/compact.js';
import { TrackerError } from './types.js';
import type { AnnounceRequest, AnnounceResponse } from './types.js';

export const PROTOCOL_ID = 0x41727101980n;
export const ACTION = { connect: 0, announce: 1, scrape: 2, error: 3 } as const;
const EVENT_CODE = { none: 0, completed: 1, started: 2, stopped: 3 } as const;

export function encodeConnect(tid: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(PROTOCOL_ID, 0);
  b.writeUInt32BE(ACTION.connect, 8);
  b.writeUInt32BE(tid >>> 0, 12);
  return b;
}

export function encodeAnnounce(connectionId: Buffer, tid: number, req: AnnounceRequest): Buffer {
  const b = Buffer.alloc(98);
  connectionId.copy(b, 0, 0, 8);
  b.writeUInt32BE(ACTION.announce, 8);
  b.writeUInt32BE(tid >>> 0, 12);
  req.infoHash.copy(b, 16, 0, 20);
  req.peerId.copy(b, 36, 0, 20);
  b.writeBigUInt64BE(BigInt(req.downloaded), 56);
  b.writeBigUInt64BE(BigInt(req.left), 64);
  b.writeBigUInt64BE(BigInt(req.uploaded), 72);
  b.writeUInt32BE(EVENT_CODE[req.event ?? 'none'], 80);
  b.writeUInt32BE(0, 84); // ip: the sender's
  b.writeUInt32BE(req.key >>> 0, 88);
  b.writeInt32BE(req.numWant, 92);
  b.writeUInt16BE(req.port, 96);
  return b;
}

export type UdpReply =
  | { action: 'connect'; tid: number; connectionId: Buffer }
  | { action: 'announce'; tid: number; response: AnnounceResponse }
  | { action: 'error'; tid: number; message: string };

export function decodeReply(b: Buffer, ipv6: boolean): UdpReply {
  if (b.length < 8) throw new TrackerError('UDP tracker reply is too short');
  const action = b.readUInt32BE(0);
  const tid = b.readUInt32BE(4);
  if (action === ACTION.connect) {
    if (b.length < 16) throw new TrackerError('UDP connect reply is too short');
    return { action: 'connect', tid, connectionId: Buffer.from(b.subarray(8, 16)) };
  }
  if (action === ACTION.announce) {
    if (b.length < 20) throw new TrackerError('UDP announce reply is too short');
    const peers = ipv6 ? decodeCompactIPv6(b.subarray(20)) : decodeCompactIPv4(b.subarray(20));
    return {
      action: 'announce',
      tid,
      response: { intervalSec: Math.max(1, b.readUInt32BE(8)), leechers: b.readUInt32BE(12), seeders: b.readUInt32BE(16), peers },
    };
  }
  if (action === ACTION.error) return { action: 'error', tid, message: b.subarray(8).toString('utf8').slice(0, 200) };
  throw new TrackerError(`UDP tracker sent unknown action ${action}`);
}
