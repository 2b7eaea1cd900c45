import { ShoalError } from '../util/errors.js';

export type StorageOp = 'open' | 'read' | 'write' | 'stat' | 'scan' | 'hash' | 'mkdir';

/** A local storage failure (disk full, permission, unreadable input), naming the operation. */
export class StorageError extends ShoalError {
  readonly op: StorageOp;
  readonly path: string | undefined;

  constructor(code: string, op: StorageOp, message: string, path?: string, options?: ErrorOptions) {
    super(code, message, options);
    this.op = op;
    this.path = path;
  }
}
