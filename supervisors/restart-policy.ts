import type { RestartType } from './spec.ts';

/**
 * How a child ended, as its supervisor sees it (OTP's exit reasons):
 * - `crash`: it failed (an error in a handler or in init, a failed start);
 * - `normal`: it stopped itself;
 * - `shutdown`: it was shut down. A child supervisor that reached its restart intensity ends this
 *   way too, as in OTP (supervisor.erl stops with reason `shutdown`): it gave up in good order
 *   after stopping its own children, which is not a crash of its own.
 */
export type ExitKind = 'crash' | 'normal' | 'shutdown';

/** Whether a child of this restart type is restarted after this exit (OTP's do_restart). */
export function restartsAfter(restart: RestartType, exit: ExitKind): boolean {
  switch (restart) {
    case 'permanent':
      return true;
    case 'transient':
      return exit === 'crash';
    case 'temporary':
      return false;
  }
}
