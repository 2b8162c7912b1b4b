// A LIFO stack of teardowns. Each resource registers its teardown the moment it exists,
// so a failure or a signal at any point unwinds exactly what was set up.
import { constants } from 'node:os';

export type Teardown = () => Promise<void> | void;

export class CleanupStack {
  private readonly stack: { name: string; fn: Teardown }[] = [];

  push(name: string, fn: Teardown): void {
    this.stack.push({ name, fn });
  }

  /** Runs every teardown, newest first; errors are collected, never stop the unwind. */
  async run(): Promise<Error[]> {
    const errors: Error[] = [];
    for (let item = this.stack.pop(); item; item = this.stack.pop()) {
      try {
        await item.fn();
      } catch (error) {
        errors.push(new Error(`teardown of ${item.name} failed: ${(error as Error).message}`, { cause: error }));
      }
    }
    return errors;
  }
}

/** One process-wide stack that SIGINT/SIGTERM unwind before exiting. */
export const processCleanup = new CleanupStack();
const signalController = new AbortController();
/** Aborted when the user interrupts: long operations pass it down so they stop at once. */
export const interruptSignal = signalController.signal;

let interruptedBy: NodeJS.Signals | undefined;

/** 128 + the number of the signal that interrupted the lab (130 SIGINT, 143 SIGTERM, 129 SIGHUP), or undefined. */
export function interruptExitCode(): number | undefined {
  return interruptedBy === undefined ? undefined : 128 + constants.signals[interruptedBy];
}

let installed = false;
/**
 * The first SIGINT/SIGTERM/SIGHUP aborts interruptSignal and calls onSignal (which starts the
 * teardown). Later ones only say the teardown is under way: with no handler left, a second
 * Ctrl-C would kill the lab at once and skip the teardown it is waiting for. The first caller
 * installs; later calls are no-ops. Whatever code the lab then exits with, an exit meant as
 * "interrupted" (130) becomes 128 + the signal's number, as a shell would report it.
 */
export function installSignalHandlers(onSignal: (signal: NodeJS.Signals) => void, onRepeat: (signal: NodeJS.Signals) => void = defaultRepeat): void {
  if (installed) return;
  installed = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (interruptedBy !== undefined) return onRepeat(sig);
      interruptedBy = sig;
      signalController.abort(new Error(`interrupted by ${sig}`));
      onSignal(sig);
    });
  }
  process.on('exit', (code) => {
    const interrupted = interruptExitCode();
    if (interrupted !== undefined && code === 130) process.exitCode = interrupted;
  });
}

function defaultRepeat(sig: NodeJS.Signals): void {
  process.stderr.write(`${sig}: already stopping; tearing down the guests and writing the reports…\n`);
}
