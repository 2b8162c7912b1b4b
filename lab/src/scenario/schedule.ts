// Which job a free worker takes next. Pure. Plan order says what runs first; a boot is what
// costs (under TCG ~3 s against ~1.2 s for a scenario in a warm guest), so a worker first takes
// a job its own guest can serve (one that does no DMA first while the guest's DMAR messages would
// hold a DMA job back), then one a guest booted ahead waits for, then one whose machine nobody is
// on. A machine another worker is on is worth a second guest only while enough of its jobs remain
// for both to finish sooner; else the worker stops and leaves them to that worker.

/** A job not started yet, as the scheduler sees it. */
export interface Candidate {
  /** The guest it may run in (machine and image: runner.ts guestKey). */
  key: string;
  /** It may run in a guest another scenario used (a fresh-guest job boots its own regardless). */
  reusable: boolean;
  /** It does DMA or declares a fault (guest-pool.ts mayFault): in a reused guest it may wait for room in the DMAR rate limit. */
  mayFault?: boolean;
}

export interface Picture {
  /** The jobs not started, in plan order. */
  remaining: readonly Candidate[];
  /** The key of this worker's warm guest, if it has one. */
  warm?: string;
  /** A job that may fault would have to wait in the warm guest now (its DMAR messages still fill the window). */
  warmPaces?: boolean;
  /** The keys the other workers' current jobs run on. */
  held: ReadonlySet<string>;
  /** The keys a guest was booted ahead for (up or still booting). */
  ahead: ReadonlySet<string>;
  /** Estimates, from this run so far or the defaults: one boot, one scenario in a warm guest. */
  bootMs: number;
  jobMs: number;
}

/** Measured here (2 cores, TCG): a boot to SSH ~3 s with another guest running, a warm scenario ~1.2 s. */
export const defaultEstimates = { bootMs: 3_000, jobMs: 1_200 } as const;

/** The index (into remaining) of the job to take next, or undefined: this worker is done. */
export function pickNext(p: Picture): number | undefined {
  const at = (ok: (c: Candidate) => boolean) => {
    const i = p.remaining.findIndex(ok);
    return i < 0 ? undefined : i;
  };
  // In its own guest, while a DMA job would wait for the rate limit, one that does no DMA goes first.
  const mine = (c: Candidate) => c.reusable && c.key === p.warm;
  const own = p.warm === undefined ? undefined : ((p.warmPaces ? at((c) => mine(c) && !c.mayFault) : undefined) ?? at(mine));
  const readyAhead = own ?? at((c) => c.reusable && p.ahead.has(c.key));
  const free = readyAhead ?? at((c) => !c.reusable || !p.held.has(c.key));
  if (free !== undefined) return free;
  // Every job left is on a machine another worker is on: a second guest of it pays its boot
  // back only when, split between the two, n jobs end sooner than one worker doing them all:
  // boot + k·job = (n − k)·job with k ≥ 1, i.e. n ≥ 2 + boot/job.
  const left = new Map<string, number>();
  for (const c of p.remaining) left.set(c.key, (left.get(c.key) ?? 0) + 1);
  return at((c) => left.get(c.key)! >= 2 + p.bootMs / Math.max(1, p.jobMs));
}

/** Running means of what boots and warm scenarios took in this run, for pickNext's estimates. */
export class Estimates {
  private readonly boots: number[] = [];
  private readonly jobs: number[] = [];

  /** A guest booted to SSH in ms. */
  boot(ms: number): void {
    this.boots.push(ms);
  }

  /** A job took ms beside its wait for a guest. */
  job(ms: number): void {
    this.jobs.push(ms);
  }

  get bootMs(): number {
    return mean(this.boots) ?? defaultEstimates.bootMs;
  }

  get jobMs(): number {
    return mean(this.jobs) ?? defaultEstimates.jobMs;
  }
}

function mean(xs: readonly number[]): number | undefined {
  return xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length;
}
