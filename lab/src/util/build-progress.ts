// Progress of a long counted step (a kernel build's objects, the selftest programs): done of
// the expected count, an ETA, shown as the live detail of a phase on a terminal and as a plain
// line every 30 s in CI, where a phase alone is silent until it ends.
import { isInteractive, type PhaseHandle, type Progress } from './progress.ts';

/** What the previous run of the same step tells us. */
export interface Expectation {
  count: number;
  /** True when it comes from a similar build rather than this exact one. */
  estimated: boolean;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * Time left. From the rate so far, blended with how long the step took last time while little is
 * done (the first objects, configure's host tools, are slow per object: the rate alone says 40
 * minutes for a 5-minute build). null when nothing can be said (nothing done and no history, or
 * past the expected count).
 */
export function etaMs(done: number, expected: number | undefined, elapsedMs: number, previousMs?: number): number | null {
  if (expected === undefined || done > expected) return null;
  const history = previousMs === undefined ? null : Math.max(0, previousMs - elapsedMs);
  if (done === 0) return history;
  const rate = (elapsedMs * (expected - done)) / done;
  if (history === null) return Math.round(rate);
  const w = done / expected;
  return Math.round((1 - w) * history + w * rate);
}

export function formatStatus(s: { unit: string; done: number; expected?: Expectation; elapsedMs: number; previousMs?: number }): string {
  const parts: string[] = [];
  if (s.expected) {
    const pct = Math.min(100, Math.floor((100 * s.done) / Math.max(1, s.expected.count)));
    parts.push(`${s.done}/${s.expected.estimated ? '~' : ''}${s.expected.count} ${s.unit} (${pct}%)`);
  } else parts.push(`${s.done} ${s.unit} (no previous build to compare)`);
  parts.push(`${formatDuration(s.elapsedMs)} elapsed`);
  const eta = etaMs(s.done, s.expected?.count, s.elapsedMs, s.previousMs);
  if (eta !== null) parts.push(`ETA ${formatDuration(eta)}`);
  else if (s.expected && s.done > s.expected.count) parts.push('more than last time');
  return parts.join(', ');
}

/** True at most once per interval (the first time one interval after start). */
export class Heartbeat {
  private last: number;
  constructor(
    readonly intervalMs: number,
    start: number,
  ) {
    this.last = start;
  }
  due(now: number): boolean {
    if (now - this.last < this.intervalMs) return false;
    this.last = now;
    return true;
  }
}

export interface CountedStepOptions {
  unit: string;
  expected?: Expectation;
  previousMs?: number;
}

/**
 * Drives one phase's progress through counted steps. On a terminal the phase's live detail
 * carries the status; otherwise a plain line (progress.info) is written every interval.
 */
export class BuildProgress {
  private step: (CountedStepOptions & { name: string; t0: number; done: number }) | null = null;
  private note = '';
  private readonly heartbeat: Heartbeat;
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly progress: Progress,
    private readonly phase: PhaseHandle,
    private readonly title: string,
    private readonly opts: { interactive?: boolean; intervalMs?: number; now?: () => number; signal?: AbortSignal } = {},
  ) {
    this.heartbeat = new Heartbeat(opts.intervalMs ?? 30_000, this.now());
    // Checked every second so a silent stretch (the final link) still gets its line.
    this.timer = setInterval(() => this.tick(), Math.min(1000, opts.intervalMs ?? 30_000));
    this.timer.unref();
    // Once the user interrupts, an ETA line among the teardown messages would only mislead.
    opts.signal?.addEventListener('abort', () => this.stop(), { once: true });
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  private get interactive(): boolean {
    return this.opts.interactive ?? isInteractive();
  }

  /** Starts a counted step; the previous one ends. */
  begin(name: string, options: CountedStepOptions): void {
    this.step = { ...options, name, t0: this.now(), done: 0 };
    this.note = '';
    this.render();
  }

  /** One more unit of the current step; `note` is what it was (e.g. "CC kernel/fork.o"). */
  advance(note?: string): void {
    if (this.step) this.step.done++;
    if (note !== undefined) this.note = note;
    this.render();
  }

  /** Text for the live line without counting (e.g. "copying base tree"). */
  detail(note: string): void {
    this.note = note;
    this.render();
  }

  get done(): number {
    return this.step?.done ?? 0;
  }

  status(): string {
    if (!this.step) return this.note;
    return `${this.step.name}: ${formatStatus({ ...this.step, elapsedMs: this.now() - this.step.t0 })}`;
  }

  // Plain output gets the heartbeat's lines only: a debug log entry per object would be noise.
  private render(): void {
    if (this.interactive) this.phase.update([this.status(), this.step ? this.note : ''].filter(Boolean).join(' · '));
  }

  /** Called every second: refreshes the ETA on a terminal, writes the plain line when due. */
  tick(): void {
    if (this.stopped) return;
    if (this.interactive) this.render();
    else if (this.heartbeat.due(this.now())) this.progress.info(`${this.title} — ${this.status()}`);
  }

  stop(): void {
    clearInterval(this.timer);
    this.stopped = true;
  }
}
