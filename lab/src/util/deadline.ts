// Deadlines with a named phase. A child deadline never outlives its parent, and every
// deadline exposes an AbortSignal so effects (execa, ssh) can be cancelled with it.
import { TimeoutError } from './errors.ts';

export class Deadline {
  readonly at: number;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private unlink: () => void = () => {};

  constructor(readonly phase: string, readonly ms: number, parent?: AbortSignal) {
    this.at = Date.now() + ms;
    this.timer = setTimeout(() => this.controller.abort(this.error()), ms);
    this.timer.unref();
    if (parent) {
      if (parent.aborted) this.controller.abort(parent.reason);
      else {
        const onAbort = () => this.controller.abort(parent.reason);
        parent.addEventListener('abort', onAbort, { once: true });
        this.unlink = () => parent.removeEventListener('abort', onAbort);
      }
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  remaining(): number {
    return Math.max(0, this.at - Date.now());
  }

  expired(): boolean {
    return this.remaining() === 0 || this.signal.aborted;
  }

  error(detail = ''): TimeoutError {
    return new TimeoutError(this.phase, this.ms, detail);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.unlink();
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
