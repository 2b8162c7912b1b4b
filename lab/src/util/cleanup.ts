// A LIFO stack of teardowns. Each resource registers its teardown the moment it exists,
// so a failure or a signal at any point unwinds exactly what was set up.

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

  get size(): number {
    return this.stack.length;
  }
}

/** One process-wide stack that SIGINT/SIGTERM unwind before exiting. */
export const processCleanup = new CleanupStack();
const signalController = new AbortController();
/** Aborted when the user interrupts: long operations pass it down so they stop at once. */
export const interruptSignal = signalController.signal;

let installed = false;
export function installSignalHandlers(onSignal: (signal: NodeJS.Signals) => void): void {
  if (installed) return;
  installed = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      signalController.abort(new Error(`interrupted by ${sig}`));
      onSignal(sig);
    });
  }
}
