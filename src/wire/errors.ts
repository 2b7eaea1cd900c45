import { ShoalError } from '../util/errors.js';

/** A peer broke the wire protocol (remote misbehaviour, never our bug): the session disconnects it. */
export class WireProtocolError extends ShoalError {
  constructor(message: string) {
    super('ERR_WIRE_PROTOCOL', message);
  }
}
