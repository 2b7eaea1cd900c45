/**
 * Values as the decoder returns them.
 *
 * - integers: `number` when within ±2^53, else `bigint` (callers that need a length refuse bigints);
 * - byte strings: `Buffer` views into the input (no copy — keep the input alive while you use them);
 * - dictionaries: `Map` whose keys are the raw key bytes as a latin1 ("binary") string, so any byte
 *   sequence survives and `Map.get('info')` works for ASCII keys. `keyToUtf8`/`utf8Key` convert.
 */
export type BencodeValue = number | bigint | Buffer | BencodeValue[] | BencodeDict;
export type BencodeDict = Map<string, BencodeValue>;

/** What the encoder takes: decoded values, plus strings (UTF-8) and plain objects (UTF-8 keys). */
export type Encodable =
  | number
  | bigint
  | string
  | Uint8Array
  | readonly Encodable[]
  | ReadonlyMap<string, Encodable>
  | { readonly [key: string]: Encodable | undefined };

/** A dictionary key (latin1 binary string) read as UTF-8 text. */
export function keyToUtf8(key: string): string {
  return Buffer.from(key, 'latin1').toString('utf8');
}

/** A UTF-8 text turned into a dictionary key (latin1 binary string). */
export function utf8Key(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

export function isDict(v: BencodeValue | undefined): v is BencodeDict {
  return v instanceof Map;
}
