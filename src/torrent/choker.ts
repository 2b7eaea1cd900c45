/**
 * The choker (BEP 3's tit-for-tat): which interested peers get upload slots. Pure: given the peers
 * and their rates it returns the set to unchoke; the torrent applies it every 10 s.
 *
 * - Leeching: the `slots - 1` interested peers we download fastest from, plus one optimistic unchoke
 *   that rotates every 30 s (so new peers get a chance to show what they give).
 * - Seeding: the peers we upload fastest to (they make the best use of our uplink), plus the optimistic one.
 */
export interface ChokerPeer {
  id: number;
  interested: boolean;
  /** Bytes/s we receive from the peer. */
  downRate: number;
  /** Bytes/s we send to the peer. */
  upRate: number;
  /** When the peer connected (newer peers are favoured for the optimistic slot). */
  connectedAt: number;
}

export interface ChokerState {
  optimistic: number | undefined;
  optimisticSince: number;
}

export const CHOKE_INTERVAL_MS = 10_000;
export const OPTIMISTIC_INTERVAL_MS = 30_000;

export function chooseUnchoked(
  peers: readonly ChokerPeer[],
  slots: number,
  seeding: boolean,
  state: ChokerState,
  now: number,
  rng: () => number,
): Set<number> {
  const interested = peers.filter((p) => p.interested);
  const ranked = [...interested].sort((a, b) => (seeding ? b.upRate - a.upRate : b.downRate - a.downRate) || a.connectedAt - b.connectedAt);
  const regular = Math.max(0, slots - 1);
  const unchoke = new Set(ranked.slice(0, regular).map((p) => p.id));

  const rest = interested.filter((p) => !unchoke.has(p.id));
  const current = rest.find((p) => p.id === state.optimistic);
  if (!current || now - state.optimisticSince >= OPTIMISTIC_INTERVAL_MS) {
    if (rest.length > 0) {
      // New peers are three times as likely to be picked (libtorrent and the original client do the same).
      const weights = rest.map((p) => (now - p.connectedAt < 60_000 ? 3 : 1));
      let r = rng() * weights.reduce((a, b) => a + b, 0);
      let pick = rest[0]!;
      for (let i = 0; i < rest.length; i++) {
        r -= weights[i]!;
        if (r < 0) {
          pick = rest[i]!;
          break;
        }
      }
      state.optimistic = pick.id;
      state.optimisticSince = now;
    } else {
      state.optimistic = undefined;
    }
  }
  if (state.optimistic !== undefined) unchoke.add(state.optimistic);
  // Spare slots (fewer interested peers than slots) stay open to whoever is interested.
  for (const p of ranked) {
    if (unchoke.size >= slots) break;
    unchoke.add(p.id);
  }
  return unchoke;
}
