// Progress for long steps: a live spinner line with the phase and elapsed time on a TTY
// (ora), plain timestamped lines in CI or when output is piped. Titles and results can quote
// a patch or the guest, so what reaches the terminal is stripped of control sequences.
import ora, { type Ora } from 'ora';
import { log } from './log.ts';
import { stripControl } from './terminal-text.ts';

export interface Progress {
  /** Starts a phase; returns a function that ends it with a one-line result. */
  phase(title: string): PhaseHandle;
  info(message: string): void;
}

export interface PhaseHandle {
  update(detail: string): void;
  done(result?: string): void;
  fail(result?: string): void;
}

const elapsed = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)}s`;

/**
 * A live line only on a real terminal: not in CI, and not on one that reports 0 columns (a pty
 * without a size), where the spinner's redraw width is 0 and it clears lines forever.
 */
export function isInteractive(stream: NodeJS.WriteStream = process.stderr, env = process.env): boolean {
  return Boolean(stream.isTTY) && !env.CI && (stream.columns ?? 80) > 0;
}

export function createProgress(options: { interactive?: boolean; quiet?: boolean } = {}): Progress {
  if (options.quiet) return quietProgress;
  return (options.interactive ?? isInteractive()) ? new TtyProgress() : new PlainProgress();
}

const quietProgress: Progress = {
  phase: (title) => {
    log().info({ phase: title }, 'phase');
    return { update: () => {}, done: () => {}, fail: () => {} };
  },
  info: (message) => log().info(message),
};

class PlainProgress implements Progress {
  private line(text: string): void {
    process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${stripControl(text)}\n`);
  }
  phase(title: string): PhaseHandle {
    const t0 = Date.now();
    this.line(`${title} …`);
    log().info({ phase: title }, 'phase start');
    return {
      update: (detail) => log().debug({ phase: title, detail }, 'phase update'),
      done: (result) => {
        this.line(`${title}: ${result ?? 'done'} (${elapsed(t0)})`);
        log().info({ phase: title, result, ms: Date.now() - t0 }, 'phase done');
      },
      fail: (result) => {
        this.line(`${title}: FAILED${result ? ` — ${result}` : ''} (${elapsed(t0)})`);
        log().warn({ phase: title, result, ms: Date.now() - t0 }, 'phase failed');
      },
    };
  }
  info(message: string): void {
    this.line(message);
    log().info(message);
  }
}

class TtyProgress implements Progress {
  phase(rawTitle: string): PhaseHandle {
    const t0 = Date.now();
    const title = stripControl(rawTitle);
    let detail = '';
    const spinner: Ora = ora({ text: title, stream: process.stderr }).start();
    const tick = setInterval(() => (spinner.text = `${title} ${elapsed(t0)}${detail ? ` · ${detail}` : ''}`), 250);
    log().info({ phase: title }, 'phase start');
    const stop = () => clearInterval(tick);
    return {
      update: (d) => (detail = stripControl(d)),
      done: (result) => {
        stop();
        spinner.succeed(`${title}: ${stripControl(result ?? 'done')} (${elapsed(t0)})`);
        log().info({ phase: title, result, ms: Date.now() - t0 }, 'phase done');
      },
      fail: (result) => {
        stop();
        spinner.fail(`${title}${result ? `: ${stripControl(result)}` : ''} (${elapsed(t0)})`);
        log().warn({ phase: title, result, ms: Date.now() - t0 }, 'phase failed');
      },
    };
  }
  info(message: string): void {
    process.stderr.write(`${stripControl(message)}\n`);
    log().info(message);
  }
}

/** Runs fn as a phase: done on success, fail (and rethrow) on error. */
export async function withPhase<T>(progress: Progress, title: string, fn: (phase: PhaseHandle) => Promise<T>, summary?: (value: T) => string): Promise<T> {
  const handle = progress.phase(title);
  try {
    const value = await fn(handle);
    handle.done(summary?.(value));
    return value;
  } catch (error) {
    handle.fail((error as Error).message.split('\n')[0]);
    throw error;
  }
}
