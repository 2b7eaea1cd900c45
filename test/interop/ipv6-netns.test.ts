/**
 * IPv6 (BEP 32) on real sockets, in a network namespace the test makes for itself (so the IPv6
 * traffic never leaves it; the host's own network stays on 127.0.0.0/8): scripts/ipv6-dht-check.sh
 * runs three `shoal dht --ipv6` nodes (announce as a seed, get-peers, scrape, BEP 44 put/get), then a
 * dual-stack seeder and an IPv6-only leecher that finds it through the IPv6 DHT from a magnet link.
 * Needs root for `ip netns` (CI runs as root).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../../scripts/ipv6-dht-check.sh', import.meta.url));

void test('IPv6 DHT and a dual-stack swarm in a private network namespace', { timeout: 240_000 }, async () => {
  const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const p = spawn('bash', [SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (c) => resolve({ code: c, out }));
  });
  assert.equal(code, 0, out);
  const lines = out.split('\n');
  const json = (pred: (o: Record<string, unknown>) => boolean): Record<string, unknown> | undefined =>
    lines
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find(pred);
  assert.deepEqual(json((o) => Array.isArray(o.peers))?.peers, ['[::1]:51413'], out);
  const scrape = json((o) => 'seeds' in o);
  assert.equal(scrape?.seeds, 1, out);
  assert.equal(json((o) => 'found' in o)?.value, 'hello over ipv6', out);
  assert.match(json((o) => o.event === 'peer')?.host as string, /^2001:db8::/, out);
  assert.match(out, /identical: downloaded over IPv6/);
});
