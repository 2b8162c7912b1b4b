// Fans every event out to several reporters. A reporter is a convenience, the run is not:
// one that throws (or rejects) is switched off for the rest of the run with a single
// warning, and neither the run nor the other reporters notice.
import type { Reporter, RunEvent } from './events.ts';
import type { TextSink } from './sink.ts';

export interface DisabledReporter {
  name: string;
  /** The event type (or "close") during which it failed. */
  during: string;
  error: unknown;
}

export class Multiplexer implements Reporter {
  readonly name = 'multiplexer';
  /** Reporters switched off so far, so the caller can mention them in its exit status. */
  readonly disabled: DisabledReporter[] = [];
  private readonly active: Set<Reporter>;
  private readonly stderr: TextSink;
  private closed = false;

  constructor(readonly reporters: readonly Reporter[], options: { stderr?: TextSink } = {}) {
    this.active = new Set(reporters);
    this.stderr = options.stderr ?? process.stderr;
  }

  async onEvent(event: RunEvent): Promise<void> {
    if (this.closed) return;
    // Concurrently: a slow file write must not delay the terminal line. Each reporter still
    // sees events in order because the runner awaits this call before emitting the next.
    await Promise.all([...this.active].map((r) => this.guard(r, event.type, () => r.onEvent(event))));
  }

  /** Closes every reporter still enabled; a disabled one is not called again, not even here. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.active].map((r) => this.guard(r, 'close', () => r.close?.())));
  }

  private async guard(reporter: Reporter, during: string, call: () => unknown): Promise<void> {
    try {
      await call();
    } catch (error) {
      // Two concurrent failures of the same reporter (close racing an event) warn once.
      if (!this.active.delete(reporter)) return;
      this.disabled.push({ name: reporter.name, during, error });
      const message = error instanceof Error ? error.message : String(error);
      this.stderr.write(`warning: the ${reporter.name} reporter failed during ${during} and is off for the rest of the run: ${message}\n`);
    }
  }
}
