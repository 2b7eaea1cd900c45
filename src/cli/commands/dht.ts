/**
 * `shoal dht …`: a standalone DHT node (a bootstrap node for a private network) and one-shot DHT
 * operations: get-peers, scrape (BEP 33), announce, BEP 44 put/get (immutable and mutable), keygen.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import type { Command } from 'commander';
import { decode, encode } from '../../bencode/index.js';
import { generateKeys, keysFromSeed, mutableTarget, signMutable } from '../../dht/items.js';
import { familyOf } from '../../dht/dht-node.js';
import { DEFAULT_STORAGE_LIMITS } from '../../dht/storage.js';
import type { StorageLimits } from '../../dht/storage.js';
import { AddressFilter } from '../../net/cidr.js';
import { addressKey } from '../../net/compact.js';
import { DhtSocket } from '../../runtime/node/dht-socket.js';
import { DEFAULT_BOOTSTRAP, resolveBootstrap, stateDir } from '../../session/dht-service.js';
import { EXIT_INCOMPLETE, EXIT_OK, UsageError } from '../errors.js';
import { parsePort } from '../swarm-options.js';
import { join } from 'node:path';

interface DhtCliOptions {
  port?: string;
  host?: string;
  ipv6?: boolean;
  bootstrap: string[];
  json?: boolean;
  readOnly?: boolean;
  store?: boolean;
  maxTorrents?: string;
  maxPeers?: string;
  maxItems?: string;
  allow: string[];
  deny: string[];
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function common(c: Command): Command {
  return c
    .option('--port <n>', 'UDP port (default: any free port)')
    .option('--host <ip>', 'local address to bind (default: all addresses of the family)')
    .option('--ipv6', 'the IPv6 DHT (BEP 32) instead of the IPv4 one')
    .option('--bootstrap <host:port>', 'bootstrap node (replaces the public routers); repeatable', collect, [])
    .option('--allow <cidr>', 'only talk to these networks (also SHOAL_NET_ALLOW); repeatable', collect, [])
    .option('--deny <cidr>', 'never talk to these networks (also SHOAL_NET_DENY); repeatable', collect, [])
    .option('--json', 'JSON output');
}

async function openNode(o: DhtCliOptions, persistent: boolean): Promise<{ s: DhtSocket; filter: AddressFilter }> {
  const filter = AddressFilter.fromEnv(process.env, o.allow, o.deny);
  const family = o.ipv6 ? 6 : 4;
  if (o.host !== undefined && !(family === 6 ? isIPv6(o.host) : isIPv4(o.host))) throw new UsageError(`--host must be an IPv${family} address${family === 4 ? ' (or use --ipv6)' : ''}, not ${JSON.stringify(o.host)}`);
  const s = await DhtSocket.open({
    port: parsePort(o.port),
    family,
    ...(o.host !== undefined ? { host: o.host } : {}),
    filter,
    // One-shot commands run read-only (BEP 43): a node that is gone in a second must not end up in
    // everyone's routing table.
    ...(o.readOnly || !persistent ? { readOnly: true } : {}),
    ...(o.store === false ? { storeItems: false } : {}),
    limits: storageLimits(o),
    ...(persistent ? { statePath: join(stateDir(), family === 6 ? 'dht-node6.json' : 'dht-node.json') } : {}),
  });
  const boot = (await resolveBootstrap(o.bootstrap.length > 0 ? o.bootstrap : DEFAULT_BOOTSTRAP, filter, family)).filter((a) => familyOf(a.host) === family);
  if (boot.length > 0 || s.node.table.size > 0) await s.bootstrap(boot);
  return { s, filter };
}

function count(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) > 1_000_000) throw new UsageError(`${what} must be a whole number from 0 to 1000000`);
  return Number(text);
}

function storageLimits(o: DhtCliOptions): StorageLimits {
  return {
    maxTorrents: count(o.maxTorrents, DEFAULT_STORAGE_LIMITS.maxTorrents, '--max-torrents'),
    maxPeersPerTorrent: count(o.maxPeers, DEFAULT_STORAGE_LIMITS.maxPeersPerTorrent, '--max-peers'),
    maxItems: count(o.maxItems, DEFAULT_STORAGE_LIMITS.maxItems, '--max-items'),
  };
}

function parseHash(text: string, what: string, bytes = 20): Buffer {
  if (!new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(text)) throw new UsageError(`${what} must be ${bytes * 2} hex characters`);
  return Buffer.from(text, 'hex');
}

function show(json: boolean | undefined, obj: Record<string, unknown>, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(obj)}\n` : `${text}\n`);
}

/** A value printed back: text when it is a UTF-8 string, JSON-ish otherwise. */
function describeValue(v: Buffer): string {
  const d = decode(v);
  if (Buffer.isBuffer(d)) return d.toString('utf8');
  const plain = (x: unknown): unknown => {
    if (typeof x === 'bigint') return x.toString();
    if (Buffer.isBuffer(x)) return x.toString('utf8');
    if (Array.isArray(x)) return x.map(plain);
    if (x instanceof Map) return Object.fromEntries([...(x as Map<string, unknown>)].map(([k, y]) => [k, plain(y)]));
    return x;
  };
  return JSON.stringify(plain(d));
}

async function readSeed(path: string): Promise<Buffer> {
  const text = (await readFile(path, 'utf8')).trim();
  let hex = text;
  if (text.startsWith('{')) hex = String((JSON.parse(text) as { seed?: string }).seed ?? '');
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new UsageError(`${path} does not hold a 32-byte ed25519 seed in hex (use \`shoal dht keygen\`)`);
  return Buffer.from(hex, 'hex');
}

export function addDhtCommands(p: Command, setCode: (c: number) => void): void {
  const dht = p.command('dht').description('the Kademlia DHT (BEP 5/44): run a node, find peers, store and fetch values');

  common(dht.command('node', { isDefault: true }).description('run a standalone DHT node (e.g. a bootstrap node for a private network)'))
    .option('--read-only', 'BEP 43 read-only: ask but never answer')
    .option('--no-store', 'do not store others\' BEP 44 items')
    .option('--max-torrents <n>', `store peers for at most this many torrents (default ${DEFAULT_STORAGE_LIMITS.maxTorrents})`)
    .option('--max-peers <n>', `store at most this many peers per torrent (default ${DEFAULT_STORAGE_LIMITS.maxPeersPerTorrent})`)
    .option('--max-items <n>', `store at most this many BEP 44 items (default ${DEFAULT_STORAGE_LIMITS.maxItems})`)
    .action(async (o: DhtCliOptions) => {
      const { s } = await openNode(o, true);
      show(o.json, { event: 'ready', id: s.node.id.toString('hex'), port: s.port }, `DHT node ${s.node.id.toString('hex')} on UDP port ${s.port}`);
      const report = (): void => {
        const st = s.node.getStats();
        if (o.json) process.stdout.write(`${JSON.stringify({ event: 'stats', ...st })}\n`);
        else if (process.stderr.isTTY) {
          process.stderr.write(`\r\x1b[2Knodes ${st.nodes} (${st.buckets} buckets) | queries in ${st.queriesIn} out ${st.queriesOut} | answers ${st.responsesIn} | timeouts ${st.timeouts} | dropped ${st.malformed + st.rateLimited} | stored peers ${st.storedPeers} items ${st.storedItems}`);
        }
      };
      const timer = setInterval(report, o.json ? 5000 : 1000);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      clearInterval(timer);
      if (!o.json && process.stderr.isTTY) process.stderr.write('\n');
      await s.close();
      setCode(EXIT_OK);
    });

  common(dht.command('get-peers').argument('<info-hash>', 'hex').description('find peers of a torrent')).action(async (hash: string, o: DhtCliOptions) => {
    const ih = parseHash(hash, 'info-hash');
    const { s } = await openNode(o, false);
    const r = await s.getPeers(ih);
    await s.close();
    const peers = r.peers.map(addressKey);
    show(o.json, { infoHash: hash.toLowerCase(), peers, nodes: r.closest.length, hops: r.hops, messages: r.messages }, peers.join('\n') || '(no peers found)');
    setCode(peers.length > 0 ? EXIT_OK : EXIT_INCOMPLETE);
  });

  common(dht.command('scrape').argument('<info-hash>', 'hex').description('estimate how many seeds and downloaders a torrent has (BEP 33)')).action(async (hash: string, o: DhtCliOptions) => {
    const ih = parseHash(hash, 'info-hash');
    const { s } = await openNode(o, false);
    const r = await s.scrape(ih);
    await s.close();
    show(
      o.json,
      { infoHash: hash.toLowerCase(), seeds: r.seeds, downloaders: r.downloaders, filters: r.filters, nodes: r.closest.length },
      `seeds ~${r.seeds}, downloaders ~${r.downloaders} (from ${r.filters} node${r.filters === 1 ? '' : 's'} that store it)`,
    );
    setCode(r.filters > 0 || r.peers.length > 0 ? EXIT_OK : EXIT_INCOMPLETE);
  });

  common(dht.command('announce').argument('<info-hash>', 'hex').description('announce that we (this port) have a torrent'))
    .option('--peer-port <n>', 'the TCP port peers should connect to (default: the DHT port)')
    .option('--seed', 'we have the whole torrent (counted as a seed in BEP 33 scrapes)')
    .action(async (hash: string, o: DhtCliOptions & { peerPort?: string; seed?: boolean }) => {
      const ih = parseHash(hash, 'info-hash');
      const { s } = await openNode(o, false);
      const port = o.peerPort !== undefined ? parsePort(o.peerPort) : s.port;
      const r = await s.announce(ih, port, o.peerPort === undefined, { seed: o.seed === true });
      await s.close();
      show(o.json, { infoHash: hash.toLowerCase(), stored: r.stored, port }, `announced on ${r.stored} nodes`);
      setCode(r.stored > 0 ? EXIT_OK : EXIT_INCOMPLETE);
    });

  common(dht.command('put').argument('<value>', 'the value (stored as a bencoded string)').description('store a BEP 44 item (immutable, or mutable with --key)'))
    .option('--key <keyfile>', 'ed25519 seed file (from `shoal dht keygen`): a mutable item')
    .option('--salt <text>', 'salt for a mutable item')
    .option('--seq <n>', 'sequence number (default: one more than the stored one, or 1)')
    .action(async (value: string, o: DhtCliOptions & { key?: string; salt?: string; seq?: string }) => {
      const v = encode(value);
      const { s } = await openNode(o, false);
      try {
        if (!o.key) {
          const r = await s.put({ v });
          show(o.json, { target: r.target.toString('hex'), stored: r.stored }, r.target.toString('hex'));
          setCode(r.stored > 0 ? EXIT_OK : EXIT_INCOMPLETE);
          return;
        }
        const keys = keysFromSeed(await readSeed(o.key));
        const salt = o.salt !== undefined ? Buffer.from(o.salt, 'utf8') : undefined;
        let seq = o.seq !== undefined ? Number(o.seq) : undefined;
        let cas: number | undefined;
        if (seq === undefined) {
          const cur = await s.get(mutableTarget(keys.publicKey, salt), { k: keys.publicKey, ...(salt ? { salt } : {}) });
          seq = (cur.item?.seq ?? 0) + 1;
          if (cur.item?.seq !== undefined) cas = cur.item.seq;
        }
        if (!Number.isSafeInteger(seq) || seq < 0) throw new UsageError('--seq must be a whole number');
        const sig = signMutable(keys.seed, v, seq, salt);
        const r = await s.put({ v, k: keys.publicKey, sig, seq, ...(salt ? { salt } : {}), ...(cas !== undefined ? { cas } : {}) });
        show(
          o.json,
          { target: r.target.toString('hex'), publicKey: keys.publicKey.toString('hex'), seq, stored: r.stored, errors: r.errors },
          r.target.toString('hex'),
        );
        setCode(r.stored > 0 ? EXIT_OK : EXIT_INCOMPLETE);
      } finally {
        await s.close();
      }
    });

  common(dht.command('get').argument('[target]', 'hex target of an immutable item').description('fetch a BEP 44 item (immutable by target, mutable with --pubkey)'))
    .option('--pubkey <hex>', 'public key of a mutable item')
    .option('--salt <text>', 'salt of a mutable item')
    .action(async (target: string | undefined, o: DhtCliOptions & { pubkey?: string; salt?: string }) => {
      let t: Buffer;
      let want: { k?: Buffer; salt?: Buffer } | undefined;
      if (o.pubkey) {
        const k = parseHash(o.pubkey, '--pubkey', 32);
        const salt = o.salt !== undefined ? Buffer.from(o.salt, 'utf8') : undefined;
        t = mutableTarget(k, salt);
        want = { k, ...(salt ? { salt } : {}) };
      } else {
        if (!target) throw new UsageError('give a target (hex) or --pubkey');
        t = parseHash(target, 'target');
      }
      const { s } = await openNode(o, false);
      const r = await s.get(t, want);
      await s.close();
      if (!r.item) {
        show(o.json, { target: t.toString('hex'), found: false }, '(not found)');
        setCode(EXIT_INCOMPLETE);
        return;
      }
      const value = describeValue(r.item.v);
      show(o.json, { target: t.toString('hex'), found: true, value, ...(r.item.seq !== undefined ? { seq: r.item.seq } : {}) }, value);
      setCode(EXIT_OK);
    });

  dht
    .command('keygen')
    .description('make an ed25519 key for mutable items')
    .option('-o, --output <file>', 'write the key here (default: print it)')
    .option('--json', 'JSON output')
    .action(async (o: { output?: string; json?: boolean }) => {
      const k = generateKeys();
      const obj = { publicKey: k.publicKey.toString('hex'), seed: k.seed.toString('hex') };
      if (o.output) await writeFile(o.output, `${JSON.stringify(obj)}\n`, { mode: 0o600 });
      show(o.json, obj, o.output ? `public key ${obj.publicKey} (key written to ${o.output})` : `public key ${obj.publicKey}\nseed       ${obj.seed}`);
      setCode(EXIT_OK);
    });
}

