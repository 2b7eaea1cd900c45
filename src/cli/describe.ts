/**
 * What `shoal info` shows, as plain objects with stable field names (the `--json` form) and as text.
 */
import type { Magnet } from '../metainfo/magnet.js';
import { formatMagnet, magnetOf } from '../metainfo/magnet.js';
import type { Metainfo } from '../metainfo/types.js';
import { realFiles } from '../metainfo/types.js';
import { formatBytes, table } from './format.js';

export interface TorrentDescription {
  type: 'torrent';
  version: string;
  name: string;
  infoHash: string | null;
  infoHashV2: string | null;
  length: number;
  pieceLength: number;
  pieceCount: number;
  fileCount: number;
  files: { path: string; length: number }[];
  padFiles: number;
  announce: string[];
  announceTiers: string[][];
  webSeeds: string[];
  private: boolean;
  comment: string | null;
  createdBy: string | null;
  creationDate: number | null;
  magnet: string;
}

export function describeTorrent(m: Metainfo): TorrentDescription {
  const files = realFiles(m);
  return {
    type: 'torrent',
    version: m.version,
    name: m.name,
    infoHash: m.infoHash?.toString('hex') ?? null,
    infoHashV2: m.infoHashV2?.toString('hex') ?? null,
    length: m.length,
    pieceLength: m.pieceLength,
    pieceCount: m.pieceCount,
    fileCount: files.length,
    files: files.map((f) => ({ path: f.path.join('/'), length: f.length })),
    padFiles: m.files.length - files.length,
    announce: [...new Set(m.announce.flat())],
    announceTiers: m.announce.map((t) => [...t]),
    webSeeds: [...m.webSeeds],
    private: m.private,
    comment: m.comment ?? null,
    createdBy: m.createdBy ?? null,
    creationDate: m.creationDate ?? null,
    magnet: magnetOf(m),
  };
}

export function torrentText(d: TorrentDescription): string {
  const versionText = { v1: 'v1', v2: 'v2 (BEP 52)', hybrid: 'hybrid (v1 + v2)' }[d.version] ?? d.version;
  const rows: [string, string][] = [
    ['name', d.name],
    ['version', versionText],
    ['size', `${formatBytes(d.length)} (${d.length} bytes) in ${d.fileCount} file${d.fileCount === 1 ? '' : 's'}`],
    ['pieces', `${d.pieceCount} × ${formatBytes(d.pieceLength)} (${d.pieceLength} bytes)`],
    ['private', d.private ? 'yes' : 'no'],
  ];
  if (d.infoHash) rows.push(['info-hash v1', d.infoHash]);
  if (d.infoHashV2) rows.push(['info-hash v2', d.infoHashV2]);
  d.announceTiers.forEach((tier, i) => rows.push([i === 0 ? 'trackers' : '', `tier ${i + 1}: ${tier.join(', ')}`]));
  if (d.announceTiers.length === 0) rows.push(['trackers', 'none']);
  for (const [i, w] of d.webSeeds.entries()) rows.push([i === 0 ? 'web seeds' : '', w]);
  if (d.comment !== null) rows.push(['comment', d.comment]);
  if (d.createdBy !== null) rows.push(['created by', d.createdBy]);
  if (d.creationDate !== null) rows.push(['created', new Date(d.creationDate * 1000).toISOString()]);
  rows.push(['magnet', d.magnet]);
  const width = Math.max(...d.files.map((f) => formatBytes(f.length).length));
  const files = d.files.map((f) => `  ${formatBytes(f.length).padStart(width)}  ${f.path}`);
  return `${table(rows)}\nfiles:\n${files.join('\n')}`;
}

export interface MagnetDescription {
  type: 'magnet';
  infoHash: string | null;
  infoHashV2: string | null;
  name: string | null;
  length: number | null;
  announce: string[];
  webSeeds: string[];
  peers: string[];
  selectOnly: number[] | null;
  magnet: string;
}

export function describeMagnet(m: Magnet): MagnetDescription {
  return {
    type: 'magnet',
    infoHash: m.infoHash?.toString('hex') ?? null,
    infoHashV2: m.infoHashV2?.toString('hex') ?? null,
    name: m.name ?? null,
    length: m.length ?? null,
    announce: [...m.trackers],
    webSeeds: [...m.webSeeds],
    peers: [...m.peers],
    selectOnly: m.selectOnly ?? null,
    magnet: formatMagnet(m),
  };
}

export function magnetText(d: MagnetDescription): string {
  const rows: [string, string][] = [['type', 'magnet link']];
  if (d.infoHash) rows.push(['info-hash v1', d.infoHash]);
  if (d.infoHashV2) rows.push(['info-hash v2', d.infoHashV2]);
  if (d.name !== null) rows.push(['name (dn)', d.name]);
  if (d.length !== null) rows.push(['length (xl)', `${formatBytes(d.length)} (${d.length} bytes)`]);
  for (const [i, t] of d.announce.entries()) rows.push([i === 0 ? 'trackers (tr)' : '', t]);
  for (const [i, w] of d.webSeeds.entries()) rows.push([i === 0 ? 'web seeds (ws)' : '', w]);
  for (const [i, p] of d.peers.entries()) rows.push([i === 0 ? 'peers (x.pe)' : '', p]);
  if (d.selectOnly) rows.push(['select only (so)', d.selectOnly.join(', ')]);
  return table(rows);
}
