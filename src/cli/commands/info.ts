/** `shoal info <file.torrent | magnet>`: show what a torrent or magnet link holds. */
import { isMagnet, parseMagnet } from '../../metainfo/magnet.js';
import { describeMagnet, describeTorrent, magnetText, torrentText } from '../describe.js';
import { EXIT_OK } from '../errors.js';
import { loadTorrentFile } from '../io.js';

export async function infoCommand(target: string, o: { json?: boolean }): Promise<number> {
  const d = isMagnet(target) ? describeMagnet(parseMagnet(target)) : describeTorrent(await loadTorrentFile(target));
  if (o.json) process.stdout.write(`${JSON.stringify(d)}\n`);
  else process.stdout.write(`${d.type === 'magnet' ? magnetText(d) : torrentText(d)}\n`);
  return EXIT_OK;
}
