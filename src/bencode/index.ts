export { decode, decodePrefix, decodeWithSpans, DEFAULT_DECODE_LIMITS } from './decode.js';
export type { DecodeLimits, Span } from './decode.js';
export { encode } from './encode.js';
export { BencodeError } from './errors.js';
export type { BencodeErrorReason } from './errors.js';
export { keyToUtf8, utf8Key, isDict } from './types.js';
export type { BencodeValue, BencodeDict, Encodable } from './types.js';
