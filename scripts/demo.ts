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
import { spawnSync } from 'node:child_process';
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

    heading(failures.length === 0 ? 'demo finished: every step behaved as expected' : `demo finished with problems: ${failures.join(', ')}`);
    process.exitCode = failures.length === 0 ? 0 : 1;
  } finally {
    if (keep) process.stdout.write(`(kept ${work})\n`);
    else await rm(work, { recursive: true, force: true });
  }
}

await main();
