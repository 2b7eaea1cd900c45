/**
 * `npm run demo`: what shoal does today, end to end, on generated data in a temporary folder.
 *
 * 1. makes a folder of files (nested, an empty one, a hidden one, sizes off piece boundaries);
 * 2. creates a v1, a v2 and a hybrid torrent of it with `shoal create`;
 * 3. shows each with `shoal info` and checks the data with `shoal verify`;
 * 4. flips one byte and shows `shoal verify` naming the damaged piece;
 * 5. reads the hybrid torrent's magnet link back with `shoal info`.
 * Everything runs the real CLI; nothing touches the network.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { mkdtemp, mkdir, writeFile, readFile, rm } from 'node:fs/promises';
import { createCipheriv } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = resolve(fileURLToPath(new URL('../../bin/shoal.js', import.meta.url)));
const keep = process.argv.includes('--keep');

function heading(text: string): void {
  process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
}

function shoal(args: string[], cwd: string): { code: number; stdout: string } {
  const r = run(args, cwd);
  if (r.code !== 0 && args[0] !== 'verify') process.stdout.write(`  -> exit code ${r.code}\n`);
  return r;
}

function run(args: string[], cwd: string): { code: number; stdout: string } {
  process.stdout.write(`\x1b[2m$ shoal ${args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}\x1b[0m\n`);
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', env: { ...process.env, SHOAL_NET_ALLOW: '127.0.0.0/8' } });
  process.stdout.write(r.stdout);
  return { code: r.status ?? 1, stdout: r.stdout };
}

/** Fast deterministic pseudo-random bytes (AES-CTR keystream). */
function pseudoRandom(size: number, seed: number): Buffer {
  const key = Buffer.alloc(16, seed);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'shoal-demo-'));
  try {
    heading(`generating a folder of files in ${work}`);
    const data = join(work, 'holiday-photos');
    const files: [string, number][] = [
      ['beach/IMG_0001.jpg', 3_145_728 + 123],
      ['beach/IMG_0002.jpg', 2_500_000],
      ['mountains/IMG_0100.jpg', 4_000_001],
      ['mountains/notes/empty.txt', 0],
      ['.album-settings', 321],
      ['README.txt', 1_234],
    ];
    for (const [i, [rel, size]] of files.entries()) {
      const p = join(data, ...rel.split('/'));
      await mkdir(join(p, '..'), { recursive: true });
      await writeFile(p, pseudoRandom(size, i + 1));
      process.stdout.write(`  ${String(size).padStart(9)}  ${rel}\n`);
    }

    const failures: string[] = [];
    for (const kind of ['v1', 'v2', 'hybrid']) {
      heading(`creating a ${kind} torrent`);
      const out = `photos-${kind}.torrent`;
      if (shoal(['create', data, '-o', out, `--${kind}`, '--piece-length', '256K', '-t', 'http://127.0.0.1:6969/announce', '-q'], work).code !== 0) failures.push(`create ${kind}`);
      shoal(['info', out], work);
      heading(`verifying the data against the ${kind} torrent`);
      if (shoal(['verify', out, work], work).code !== 0) failures.push(`verify ${kind}`);
    }

    heading('flipping one byte in beach/IMG_0002.jpg and verifying again');
    const victim = join(data, 'beach', 'IMG_0002.jpg');
    const original = await readFile(victim);
    const damaged = Buffer.from(original);
    damaged[1_000_000] = damaged[1_000_000]! ^ 0x01;
    await writeFile(victim, damaged);
    const r = shoal(['verify', 'photos-hybrid.torrent', work], work);
    process.stdout.write(r.code === 1 ? '  -> exit code 1: damage found, as it should be\n' : `  -> unexpected exit code ${r.code}\n`);
    if (r.code !== 1) failures.push('damage detection');
    await writeFile(victim, original);

    heading('reading the hybrid torrent\'s magnet link');
    const json = spawnSync(process.execPath, [BIN, 'info', 'photos-hybrid.torrent', '--json'], { cwd: work, encoding: 'utf8' }).stdout;
    const info = JSON.parse(json) as { magnet: string };
    shoal(['info', info.magnet], work);

    heading('a local swarm: a private DHT, one seeder and three leechers on 127.0.0.1, by magnet link alone');
    if (!(await swarmDemo(work))) failures.push('swarm');

    heading(failures.length === 0 ? 'demo finished: every step behaved as expected' : `demo finished with problems: ${failures.join(', ')}`);
    process.exitCode = failures.length === 0 ? 0 : 1;
  } finally {
    if (keep) process.stdout.write(`(kept ${work})\n`);
    else await rm(work, { recursive: true, force: true });
  }
}

interface Node {
  name: string;
  proc: ChildProcess;
  status: string;
  done: boolean;
  failed: boolean;
}

/** Starts `shoal <args> --json` and follows its JSON lines. */
function startNode(name: string, args: string[], cwd: string, onLine: (n: Node, e: Record<string, unknown>) => void): Node {
  // Each node keeps its DHT state in its own folder inside the demo's temporary folder.
  const env = { ...process.env, SHOAL_NET_ALLOW: '127.0.0.0/8', SHOAL_HOME: join(cwd, 'homes', name) };
  const proc = spawn(process.execPath, [BIN, ...args, '--json'], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env });
  const node: Node = { name, proc, status: 'starting', done: false, failed: false };
  createInterface({ input: proc.stdout }).on('line', (line) => {
    try {
      onLine(node, JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not JSON: ignore
    }
  });
  let lastError = '';
  proc.stderr.setEncoding('utf8').on('data', (d: string) => {
    const line = d.trim().split('\n').pop();
    if (line) lastError = line;
  });
  proc.on('exit', (code) => {
    if (!node.done && !node.failed) {
      node.failed = code !== 0;
      node.status = code === 0 ? 'finished' : `exited with code ${code}: ${lastError}`;
    }
  });
  return node;
}

const mb = (n: unknown): string => `${(Number(n) / 1048576).toFixed(1)} MiB`;

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

async function swarmDemo(work: string): Promise<boolean> {
  const swarm = join(work, 'swarm');
  await mkdir(swarm, { recursive: true });
  const file = join(swarm, 'film.mkv');
  await writeFile(file, pseudoRandom(96 * 1024 * 1024, 42));
  process.stdout.write('  a 96 MiB file; the seeder uploads at most 24 MiB/s so the progress can be watched\n');

  // A private DHT of three nodes on 127.0.0.1: the only way the peers below find each other.
  const dhtPorts: number[] = [];
  const nodes: Node[] = [];
  for (const name of ['dht-1', 'dht-2', 'dht-3']) {
    const bootstrap = dhtPorts.length > 0 ? ['--bootstrap', `127.0.0.1:${dhtPorts[0]}`] : [];
    const port = await new Promise<number>((resolve) => {
      nodes.push(
        startNode(name, ['dht', '--port', '0', ...bootstrap], swarm, (n, e) => {
          if (e.event === 'ready') {
            resolve(Number(e.port));
            n.status = `DHT node ${String(e.id).slice(0, 12)}… on UDP ${String(e.port)}`;
          } else if (e.event === 'stats') {
            n.status = `DHT node: ${String(e.nodes)} nodes known, ${String(e.queriesIn)} queries answered, ${String(e.storedPeers)} peers stored`;
          }
        }),
      );
    });
    dhtPorts.push(port);
  }
  const boot = ['--bootstrap', `127.0.0.1:${dhtPorts[0]}`];
  process.stdout.write(`  a private DHT: ${dhtPorts.length} nodes on UDP ports ${dhtPorts.join(', ')}\n`);

  let magnet = '';
  const ready = new Promise<void>((resolve) => {
    const seeder = startNode('seeder', ['seed', file, '--port', '0', '--upload-limit', '24M', ...boot], swarm, (n, e) => {
      if (e.event === 'ready') {
        magnet = String(e.magnet);
        n.status = `seeding on port ${String(e.port)}, announced in the DHT`;
        resolve();
      } else if (e.event === 'progress') {
        n.status = `seeding: uploaded ${mb(e.uploaded)}, ${String(e.peers)} peers`;
      }
    });
    nodes.push(seeder);
  });
  await ready;
  process.stdout.write(`  magnet (no tracker, no peer address — the DHT finds the seeder): ${magnet}\n\n`);
  const firstLeecher = nodes.length;
  for (const name of ['leecher-1', 'leecher-2', 'leecher-3']) {
    const dir = join(swarm, name);
    await mkdir(dir, { recursive: true });
    nodes.push(
      startNode(name, ['get', magnet, '-o', dir, ...boot], swarm, (n, e) => {
        if (e.event === 'progress') {
          n.status = `${String(e.percent).padStart(5)}%  ${mb(e.haveBytes)} of ${mb(e.wantedBytes)}  ↓ ${mb(e.downRate)}/s  ↑ ${mb(e.upRate)}/s  peers ${String(e.peers)}`;
        } else if (e.event === 'done') {
          n.done = true;
          n.status = `done in ${(Number(e.elapsedMs) / 1000).toFixed(1)} s (uploaded ${mb(e.uploaded)} to the others)`;
        } else if (e.event === 'error') {
          n.failed = true;
          n.status = `error: ${String(e.message)}`;
        }
      }),
    );
  }

  const tty = process.stdout.isTTY;
  let drawn = 0;
  const draw = (): void => {
    if (tty && drawn > 0) process.stdout.write(`\x1b[${drawn}A`);
    for (const n of nodes) process.stdout.write(`${tty ? '\x1b[2K' : ''}  ${n.name.padEnd(10)} ${n.status}\n`);
    drawn = nodes.length;
  };
  const leechers = nodes.slice(firstLeecher);
  const started = Date.now();
  let ticks = 0;
  while (!leechers.every((n) => n.done || n.failed) && Date.now() - started < 120_000) {
    await new Promise((r) => setTimeout(r, 500));
    if (tty || ++ticks % 4 === 0) draw();
  }
  draw();
  for (const n of nodes) if (n.proc.exitCode === null) n.proc.kill('SIGINT');
  await Promise.all(nodes.map((n) => (n.proc.exitCode === null ? new Promise((r) => n.proc.once('exit', r)) : Promise.resolve())));

  process.stdout.write('\n  checksums (sha256):\n');
  const original = await sha256(file);
  process.stdout.write(`    original   ${original}\n`);
  let same = true;
  for (const n of leechers) {
    const got = await sha256(join(swarm, n.name, 'film.mkv')).catch(() => 'missing');
    same &&= got === original;
    process.stdout.write(`    ${n.name.padEnd(10)} ${got} ${got === original ? '✓ identical' : '✗ DIFFERENT'}\n`);
  }
  return same && leechers.every((n) => n.done);
}

await main();
