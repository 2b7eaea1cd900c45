/**
 * The root of shoal's typed errors. Every error we raise on purpose carries a stable `code` that
 * scripts and callers can branch on; the message is for people.
 *
 * `ShoalError` subclasses split into two families:
 * - input errors (a broken .torrent, a bad magnet link, a path we refuse): the caller's data is at fault;
 * - local misuse (a bad argument to an API call): a bug in the caller.
 */
export class ShoalError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A bad argument to one of our APIs (never caused by remote data). */
export class ArgumentError extends ShoalError {
  constructor(message: string) {
    super('ERR_SHOAL_ARGUMENT', message);
  }
}
