/**
 * Path sanitising for names that come from a torrent. A torrent is remote input: a name that could
 * escape the download folder, address a device, or that a file system would refuse is rejected
 * here — before anything touches the disk — rather than silently rewritten.
 */
import { MetainfoError } from './errors.js';

/** Longest single path component in bytes (ext4, NTFS, APFS all stop at 255). */
export const MAX_COMPONENT_BYTES = 255;
/** Longest whole relative path in bytes (Linux PATH_MAX is 4096, including the download folder). */
export const MAX_PATH_BYTES = 3072;
/** Deepest folder nesting we accept. */
export const MAX_PATH_DEPTH = 64;

// Windows device names are reserved in every folder and with any extension ("nul.txt").
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/** Why one component is refused, or undefined when it is fine. */
export function componentProblem(name: string): string | undefined {
  if (name.length === 0) return 'an empty name';
  if (name === '.' || name === '..') return `the name "${name}"`;
  if (name.includes('/') || name.includes('\\')) return `a path separator in ${JSON.stringify(name)}`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(name)) return `a control character in ${JSON.stringify(name)}`;
  if (name.includes('\ufffd')) return `invalid UTF-8 in ${JSON.stringify(name)}`;
  if (WINDOWS_RESERVED.test(name)) return `the reserved device name ${JSON.stringify(name)}`;
  if (Buffer.byteLength(name, 'utf8') > MAX_COMPONENT_BYTES) return `a name longer than ${MAX_COMPONENT_BYTES} bytes`;
  return undefined;
}

/** Throws `MetainfoError(ERR_METAINFO_PATH)` unless every component is safe and the whole is short enough. */
export function checkPath(components: readonly string[], what: string): void {
  if (components.length === 0) throw new MetainfoError('ERR_METAINFO_PATH', `${what} has an empty path`);
  if (components.length > MAX_PATH_DEPTH) {
    throw new MetainfoError('ERR_METAINFO_PATH', `${what} is nested deeper than ${MAX_PATH_DEPTH} folders`);
  }
  let bytes = 0;
  for (const c of components) {
    const problem = componentProblem(c);
    if (problem !== undefined) throw new MetainfoError('ERR_METAINFO_PATH', `${what} has ${problem}`);
    bytes += Buffer.byteLength(c, 'utf8') + 1;
  }
  if (bytes > MAX_PATH_BYTES) throw new MetainfoError('ERR_METAINFO_PATH', `${what} has a path longer than ${MAX_PATH_BYTES} bytes`);
}

/** Decodes a name from the torrent, refusing bytes that are not UTF-8 (fatal decoder). */
const utf8 = new TextDecoder('utf-8', { fatal: true });
export function decodeName(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new MetainfoError('ERR_METAINFO_PATH', `${what} is not valid UTF-8`);
  }
}
