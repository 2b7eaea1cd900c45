/**
 * How the CLI turns failures into exit codes and one-line messages.
 *
 * Exit codes: 0 success; 1 the job ran but the answer is "no" (verify found missing or bad pieces);
 * 2 bad input or usage (a broken torrent, a bad argument, a path we refuse); 70 an internal bug.
 */
import { CommanderError } from 'commander';
import { ShoalError } from '../util/errors.js';

export const EXIT_OK = 0;
export const EXIT_INCOMPLETE = 1;
export const EXIT_INPUT = 2;
export const EXIT_INTERNAL = 70;

export class UsageError extends ShoalError {
  constructor(message: string) {
    super('ERR_SHOAL_USAGE', message);
  }
}

/** One line for the terminal, and the exit code for this failure. */
export function explain(err: unknown): { message: string; code: number } {
  if (err instanceof CommanderError) return { message: err.message.replace(/^error: /, ''), code: EXIT_INPUT };
  if (err instanceof ShoalError) return { message: err.message.split('\n')[0]!, code: EXIT_INPUT };
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && typeof e.syscall === 'string') {
    return { message: e.message.split('\n')[0]!, code: EXIT_INPUT };
  }
  return { message: `internal error: ${(err as Error)?.stack ?? String(err)}`, code: EXIT_INTERNAL };
}
