// The run's guests: a worker's guest handed from one scenario to the next, the guests booted
// ahead while the workers run, and their end. Behind one interface (GuestPool): a guest for a
// key (the worker's own, else one booted ahead), back after its checked reset (handOn), retired.
// Whatever a guest's console printed that no verdict judged is judged when it is retired or
// closed (guest-log.ts). The attempt (attempt.ts) decides when a guest may be handed on.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { withVmmImage } from '../image/vmm.ts';
import { bootGuest, type GuestArtifacts } from '../lab.ts';
import type { Accel } from '../qemu/argv.ts';
import { deviceAddresses, machineProfile } from '../qemu/profile.ts';
import type { QemuTarget } from '../qemu/target.ts';
import type { Reporter } from '../report/events.ts';
import { CleanupStack, processCleanup } from '../util/cleanup.ts';
import { guestsBootedAhead } from '../util/parallel.ts';
import type { Progress } from '../util/progress.ts';
import type { ScenarioOptions } from './define.ts';
import { OutsideLogs } from './guest-log.ts';
import type { Job } from './planner.ts';
import { paceSeconds } from './ratelimit.ts';
import { driversScript, parseDrivers } from './reset.ts';
import { Estimates } from './schedule.ts';

export interface RunnerOptions {
  guest: GuestArtifacts;
  kernelConfig: ReadonlyMap<string, string>;
  accel: Accel;
  /** The QEMU every guest of this run boots with (--qemu). @default the system's */
  qemu?: QemuTarget;
  runDir: string;
  cache: string;
  reporter: Reporter;
  progress: Progress;
  jobs: number;
  signal: AbortSignal;
  /** Leave the guest of a failed scenario running for `./labw ssh` (stopped by `./labw clean`). */
  keepFailed?: boolean;
  /** Hand guests from one scenario to the next after a checked reset. @default true */
  reuseGuests?: boolean;
  /** Make room in the DMAR rate limit before a scenario in a reused guest (session.ts). @default true */
  paceDmar?: boolean;
}

export type Booted = Awaited<ReturnType<typeof bootGuest>>;

/** A booted guest that passed its checked reset, waiting for the worker's next scenario. */
export interface Warm {
  /** What a guest must match to be handed on: machine variant and image (guestKey). */
  key: string;
  booted: Booted;
  cleanup: CleanupStack;
  /**
   * The driver each device must be on when the next scenario ends, if it does not use it: the
   * one it booted with, or vfio-pci for a device an earlier scenario used (the reset leaves
   * those on vfio-pci, checked bindable) on a machine where every device has its own group.
   */
  idleDrivers: Map<string, string>;
  /** Where its QEMU keeps its command line and console log. */
  dir: string;
  /** The DMAR ratelimit tokens its kernel log showed at the last read, on the guest's clock, for pacing. */
  dmar?: DmarClock;
  /** How much of its console log a verdict has judged; the rest is judged when it is next used or stopped (guest-log.ts). */
  judgedTo: number;
  /** The scenario that last ran in it; absent for a guest booted ahead that none used yet (a fresh guest). */
  last?: string;
}

/** Ratelimit tokens (guest seconds) and the guest's uptime at a host time. */
export interface DmarClock {
  tokens: number[];
  guestS: number;
  hostMs: number;
}

/** One worker's place in the pool: the guest it may hand to its next scenario, and how many it booted. */
export interface Lane {
  id: number;
  guests: number;
  warm?: Warm;
}

export function guestKey(job: Job): string {
  return `${job.machine}/${job.scenario.scenario.options.image ?? 'lab'}`;
}

export function missingConfig(required: string[] | undefined, config: ReadonlyMap<string, string>): string[] {
  return (required ?? []).filter((name) => !['y', 'm'].includes(config.get(name) ?? 'n'));
}

/**
 * Whether a scenario may run in a guest another scenario used: not when it asks for a fresh
 * guest, nor when its guest may be kept for `./labw ssh`. DMA scenarios may: their part of the
 * kernel log starts at their own marker, and a reused guest's verdict stands only when none of
 * their DMAR messages can have been rate-limited (ratelimit.ts); else they run again, fresh.
 */
export function mayReuseGuest(job: Job, opts: Pick<RunnerOptions, 'keepFailed' | 'reuseGuests'>): boolean {
  const o = job.scenario.scenario.options;
  return opts.reuseGuests !== false && !opts.keepFailed && !o.freshGuest;
}

/** A scenario that does DMA (tag "dma") or declares a fault: the one the DMAR rate limit can cost a verdict. */
export function mayFault(o: Pick<ScenarioOptions, 'tags' | 'expectedFaults'>): boolean {
  return (o.tags ?? []).includes('dma') || (o.expectedFaults?.length ?? 0) > 0;
}

/** How long a scenario that may fault would wait in this guest now, for room in the DMAR rate limit. */
export function paceMsIn(warm: Warm, opts: Pick<RunnerOptions, 'paceDmar'>): number {
  if (!warm.dmar || opts.paceDmar === false) return 0;
  return Math.round(paceSeconds(warm.dmar.tokens, warm.dmar.guestS + (Date.now() - warm.dmar.hostMs) / 1000) * 1000);
}

/**
 * Runs a guest's teardown. What failed in it (a QEMU that would not stop, a registry entry that
 * could not be removed) is a `teardown` event the reporters show, not an error dropped.
 */
export async function unwind(cleanup: CleanupStack, where: string, reporter: Reporter | undefined): Promise<void> {
  for (const e of await cleanup.run()) await reporter?.onEvent({ type: 'teardown', where, error: e.message });
}

/** Guests kept running for `./labw ssh` because their scenario failed. */
const kept = new WeakSet<Booted>();

/** Leaves the guest running when its teardown runs: `./labw clean` stops it. */
export function keepRunning(booted: Booted): void {
  kept.add(booted);
}

/** Boots the job's machine; with keepFailed the guest is started detached and kept if its scenario fails. */
async function bootFor(job: Job, opts: RunnerOptions, cleanup: CleanupStack, dir: string, signal: AbortSignal, estimates?: Estimates): Promise<Booted> {
  const image = job.scenario.scenario.options.image;
  const guest = image === 'lab' ? opts.guest : await withVmmImage(opts.guest, opts.cache, image);
  const t0 = Date.now();
  const booted = await bootGuest({ guest, profile: machineProfile(job.machine, opts.qemu ? { qemu: opts.qemu } : {}), accel: opts.accel, dir, cache: opts.cache, cleanup, progress: opts.progress, signal, keep: opts.keepFailed });
  estimates?.boot(Date.now() - t0);
  if (opts.keepFailed) cleanup.push(`qemu ${booted.machine.id}`, async () => (kept.has(booted) ? undefined : booted.machine.stop()));
  return booted;
}

/** The driver each of the machine's devices is on, read once its guest is up: what the reset restores. */
export async function bootDrivers(booted: Booted, machine: string): Promise<Map<string, string>> {
  return parseDrivers((await booted.vm.exec(driversScript(Object.values(deviceAddresses(machineProfile(machine)))))).stdout);
}

/**
 * The run's guests. A worker asks for a guest for its job's key (take: its own warm guest if it
 * matches, else one booted ahead, else none and it boots its own with boot()), gives it back
 * after a checked reset (handOn), or has it stopped (retire). close() stops what nobody took.
 */
export class GuestPool {
  /** What boots and warm scenarios took in this run so far (schedule.ts). */
  readonly estimates = new Estimates();
  /** The run's findings in the console logs outside every scenario. */
  readonly outside: OutsideLogs;
  private readonly ahead: Prebooter;

  /** `where` says which jobs are not taken yet (in plan order) and which machines the workers hold. */
  constructor(
    private readonly opts: RunnerOptions,
    where: () => { remaining: readonly Job[]; held: ReadonlySet<string> },
  ) {
    this.outside = new OutsideLogs(opts.runDir, opts.reporter);
    this.ahead = new Prebooter(opts, this.estimates, where, this.outside);
  }

  /** The machines (guestKey) a guest was booted ahead for, up or still booting. */
  aheadKeys(): Set<string> {
    return this.ahead.keys();
  }

  /** Lets a boot ahead start now, if one is due (a worker about to reuse its guest boots none of its own). */
  bootAhead(): void {
    this.ahead.ahead();
  }

  /** The guest for this key: the lane's own if it has one, else the one booted ahead for it, if any. The lane holds none after. */
  async take(lane: Lane, key: string): Promise<Warm | undefined> {
    const warm = lane.warm ?? (await this.ahead.take(key));
    lane.warm = undefined;
    return warm;
  }

  /** Boots a guest for the job, counted as a worker's boot (boots ahead wait while workers boot). */
  async boot(job: Job, cleanup: CleanupStack, dir: string, signal: AbortSignal): Promise<Booted> {
    return this.ahead.workerBoot(() => bootFor(job, this.opts, cleanup, dir, signal, this.estimates));
  }

  /** A guest that passed its checked reset, kept for the lane's next scenario. */
  handOn(lane: Lane, warm: Warm): void {
    lane.warm = warm;
  }

  /** Stops the lane's guest; what its console printed after its last verdict is judged. */
  async retire(lane: Lane): Promise<void> {
    const warm = lane.warm;
    lane.warm = undefined;
    if (!warm) return;
    await unwind(warm.cleanup, `of the guest${warm.last ? ` after ${warm.last}` : ''}`, this.opts.reporter);
    if (warm.last) await this.outside.judge(warm.booted.machine.serialLog, warm.judgedTo, { after: warm.last });
  }

  /** Stops the guests booted ahead that nobody took. */
  async close(): Promise<void> {
    await this.ahead.close();
  }
}

/**
 * Boots the guests a run will need next while the current one works: under TCG a guest's boot
 * is ~3-4 s of one core, and a worker's scenarios leave the other core mostly idle. One boot at a
 * time (the CPU), at most `maxWaiting` guests up and waiting (the memory), each for the next
 * machine in plan order that no worker holds, and only for a scenario that may take a guest
 * booted before it (mayReuseGuest). A boot that fails here is dropped: the scenario then boots
 * its own guest and reports what goes wrong as its own.
 */
class Prebooter {
  private readonly pending: { key: string; guest: Promise<Warm | undefined>; up: boolean; for: string }[] = [];
  private booted = 0;
  /** Workers' own boots in flight: while they take every core, a boot ahead would only slow them. */
  private workerBoots = 0;

  constructor(
    private readonly opts: RunnerOptions,
    private readonly estimates: Estimates,
    private readonly where: () => { remaining: readonly Job[]; held: ReadonlySet<string> },
    private readonly outside: OutsideLogs,
  ) {}

  keys(): Set<string> {
    return new Set(this.pending.map((p) => p.key));
  }

  /** Starts a boot for the first job not taken yet on whose machine no worker is and no guest waits. */
  ahead(): void {
    if (this.opts.signal.aborted || this.pending.length >= guestsBootedAhead || this.pending.some((p) => !p.up) || this.workerBoots >= availableParallelism()) return;
    const { remaining, held } = this.where();
    const ready = (j: Job) => mayReuseGuest(j, this.opts) && missingConfig(j.scenario.scenario.options.requiresConfig, this.opts.kernelConfig).length === 0;
    const waiting = this.keys();
    const job = remaining.find((j) => ready(j) && !held.has(guestKey(j)) && !waiting.has(guestKey(j)));
    if (!job) return;
    const cleanup = new CleanupStack();
    processCleanup.push(`guest booted ahead for ${job.id}`, () => cleanup.run().then(() => undefined));
    const dir = join(this.opts.runDir, 'guests', `ahead-${++this.booted}`);
    const entry = { key: guestKey(job), guest: Promise.resolve<Warm | undefined>(undefined), up: false, for: job.id };
    entry.guest = (async (): Promise<Warm | undefined> => {
      try {
        const booted = await bootFor(job, this.opts, cleanup, dir, this.opts.signal, this.estimates);
        return { key: entry.key, booted, cleanup, idleDrivers: await bootDrivers(booted, job.machine), dir, judgedTo: 0 };
      } catch (error) {
        if (!this.opts.signal.aborted) this.opts.progress.info(`a guest booted ahead for ${job.id} failed (${(error as Error).message.split('\n')[0]}); it boots its own`);
        await unwind(cleanup, `of a guest booted ahead for ${job.id}`, this.opts.reporter);
        return undefined;
      } finally {
        entry.up = true;
        this.ahead();
      }
    })();
    this.pending.push(entry);
  }

  /**
   * A worker's own boot: counted while it runs, and a boot ahead may start when it ends. At a
   * run's start every worker boots: on 2 cores under TCG three boots at once took 3.7-4.3 s
   * each, against ~2.5 s for two.
   */
  async workerBoot<T>(boot: () => Promise<T>): Promise<T> {
    this.workerBoots++;
    try {
      return await boot();
    } finally {
      this.workerBoots--;
      this.ahead();
    }
  }

  /** The guest booted ahead for this machine, once it is up; undefined if there is none (or it failed). */
  async take(key: string): Promise<Warm | undefined> {
    const at = this.pending.findIndex((p) => p.key === key);
    if (at < 0) return undefined;
    const [entry] = this.pending.splice(at, 1);
    this.ahead();
    return entry!.guest;
  }

  /** Stops the guests nobody took; their whole console log is judged, as no scenario read it. */
  async close(): Promise<void> {
    for (const entry of this.pending.splice(0)) {
      const warm = await entry.guest;
      if (!warm) continue;
      await unwind(warm.cleanup, `of a guest booted ahead for ${entry.for}, never used`, this.opts.reporter);
      await this.outside.judge(warm.booted.machine.serialLog, 0, { unused: entry.for });
    }
  }
}
