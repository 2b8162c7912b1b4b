// Running planned jobs: devices handed to vfio-pci, the body under a deadline, the verdict
// (verdict.ts) afterwards, teardown LIFO whatever happened. A worker hands its booted guest from
// one scenario to the next after a checked reset (reset.ts) — a guest costs ~3 s to boot under
// TCG and a scenario ~1 s — and re-runs in a fresh guest anything that fails in a reused one.
// Emits events; never prints.
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { baseTimeouts, bootGuest, type GuestArtifacts } from '../lab.ts';
import { timeScale } from '../qemu/accel.ts';
import type { Accel } from '../qemu/argv.ts';
import { deviceAddresses, machineProfile } from '../qemu/profile.ts';
import type { QemuTarget } from '../qemu/target.ts';
import { readSerial, tail } from '../qemu/serial.ts';
import { watchForWedge } from './wedge.ts';
import type { GuestLogFinding, PhaseTiming, Reporter, ScenarioInfo, ScenarioResult, StepResult } from '../report/events.ts';
import { CleanupStack, processCleanup } from '../util/cleanup.ts';
import { Deadline, sleep } from '../util/deadline.ts';
import { guestsBootedAhead } from '../util/parallel.ts';
import { BootError, TimeoutError } from '../util/errors.ts';
import type { Progress } from '../util/progress.ts';
import { quote } from '../util/quote.ts';
import { checkExpectedFault, SkipSignal, type DeviceName, type ExpectedFault, type GuestDevice, type ScenarioContext, type ScenarioOptions } from './define.ts';
import { bindToVfio } from './devices.ts';
import { createExpect } from './expect.ts';
import type { Job } from './planner.ts';
import { Probe, type ProbeRun } from './probe.ts';
import { withVmmImage } from '../image/vmm.ts';
import { afterScript, beginMarker, driversScript, parseDrivers, readReset, resetAfter, sinceMarker, splitAfter } from './reset.ts';
import { dmarMessagesMayBeSuppressed, dmarTokenTimes, failureMayComeFromDroppedMessages, paceSeconds, timestampedDmesg, uptimeSeconds } from './ratelimit.ts';
import { Scope } from './scope.ts';
import { OutsideLogs } from './guest-log.ts';
import { judgeScenario } from './verdict.ts';
import { Estimates, pickNext } from './schedule.ts';

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

export function scenarioInfo(job: Job): ScenarioInfo {
  const o = job.scenario.scenario.options;
  return {
    id: job.id,
    name: job.scenario.scenario.name,
    file: job.scenario.file,
    area: job.scenario.area,
    tags: o.tags,
    devices: o.devices,
    machine: job.machine,
    flavour: job.flavour,
    concern: o.concern,
  };
}

type Booted = Awaited<ReturnType<typeof bootGuest>>;

/** A booted guest that passed its checked reset, waiting for the worker's next scenario. */
interface Warm {
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
interface DmarClock {
  tokens: number[];
  guestS: number;
  hostMs: number;
}

/** One worker's guest, if it has one to hand on, and the run's guests booted ahead. */
interface Lane {
  id: number;
  guests: number;
  /** Where a failed teardown is reported (the run's reporter). */
  reporter?: Reporter;
  warm?: Warm;
  ahead?: Prebooter;
  /** The run's findings in the console logs outside every scenario. */
  outside?: OutsideLogs;
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

  /** `where` says which jobs are not taken yet (in plan order) and which machines the workers hold. */
  constructor(
    private readonly opts: RunnerOptions,
    /** What boots and warm scenarios took in this run so far (schedule.ts). */
    readonly estimates: Estimates,
    private readonly where: () => { remaining: readonly Job[]; held: ReadonlySet<string> },
    private readonly outside?: OutsideLogs,
  ) {}

  /** The machines (guestKey) a guest was booted ahead for, up or still booting. */
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
      await this.outside?.judge(warm.booted.machine.serialLog, 0, { unused: entry.for });
    }
  }
}

/**
 * Runs a guest's teardown. What failed in it (a QEMU that would not stop, a registry entry that
 * could not be removed) is a `teardown` event the reporters show, not an error dropped.
 */
export async function unwind(cleanup: CleanupStack, where: string, reporter: Reporter | undefined): Promise<void> {
  for (const e of await cleanup.run()) await reporter?.onEvent({ type: 'teardown', where, error: e.message });
}

/** Stops the lane's guest; what its console printed after its last verdict is judged. */
async function retire(lane: Lane): Promise<void> {
  const warm = lane.warm;
  lane.warm = undefined;
  if (!warm) return;
  await unwind(warm.cleanup, `of the guest${warm.last ? ` after ${warm.last}` : ''}`, lane.reporter);
  if (warm.last) await lane.outside?.judge(warm.booted.machine.serialLog, warm.judgedTo, { after: warm.last });
}

/**
 * Runs jobs, at most `jobs` guests at a time; results come back in job order. A free worker
 * takes the job pickNext (schedule.ts) chooses: its own guest's machine first, then one a guest
 * was booted ahead for, then plan order.
 */
export async function runJobs(jobs: Job[], opts: RunnerOptions): Promise<{ results: ScenarioResult[]; guestLogs: GuestLogFinding[] }> {
  const results: ScenarioResult[] = new Array(jobs.length);
  /** The jobs not started, in plan order. */
  const remaining = jobs.map((job, i) => ({ job, i }));
  /** The machine (guestKey) each worker's current job runs on. */
  const held = new Map<number, string>();
  const estimates = new Estimates();
  const outside = new OutsideLogs(opts.runDir, opts.reporter);
  const ahead = new Prebooter(opts, estimates, () => ({ remaining: remaining.map((r) => r.job), held: new Set(held.values()) }), outside);
  const worker = async (id: number) => {
    const lane: Lane = { id, guests: 0, ahead, outside, reporter: opts.reporter };
    try {
      while (remaining.length > 0 && !opts.signal.aborted) {
        const others = new Set([...held].filter(([w]) => w !== id).map(([, key]) => key));
        const k = pickNext({
          remaining: remaining.map(({ job }) => ({ key: guestKey(job), reusable: mayReuseGuest(job, opts), mayFault: mayFault(job.scenario.scenario.options) })),
          ...(lane.warm ? { warm: lane.warm.key, warmPaces: paceMsIn(lane.warm, opts) > 0 } : {}),
          held: others,
          ahead: ahead.keys(),
          bootMs: estimates.bootMs,
          jobMs: estimates.jobMs,
        });
        if (k === undefined) break;
        const [{ job, i }] = remaining.splice(k, 1) as [{ job: Job; i: number }];
        held.set(id, guestKey(job));
        // A worker about to boot its own guest starts none ahead: its boot ending does (workerBoot).
        if (lane.warm?.key === guestKey(job)) ahead.ahead();
        const r = await runJob(job, opts, lane);
        results[i] = r;
        estimates.job(r.ms - (r.phases?.find((p) => p.phase === 'boot')?.ms ?? 0));
      }
    } finally {
      held.delete(id);
      await retire(lane);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.jobs, jobs.length)) }, (_, i) => worker(i + 1)));
  } finally {
    await ahead.close();
  }
  return { results: results.filter(Boolean), guestLogs: outside.found };
}

function missingConfig(required: string[] | undefined, config: ReadonlyMap<string, string>): string[] {
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

/** How long a scenario that may fault would wait in this guest now, for room in the DMAR rate limit. */
function paceMsIn(warm: Warm, opts: Pick<RunnerOptions, 'paceDmar'>): number {
  if (!warm.dmar || opts.paceDmar === false) return 0;
  return Math.round(paceSeconds(warm.dmar.tokens, warm.dmar.guestS + (Date.now() - warm.dmar.hostMs) / 1000) * 1000);
}

/** A scenario that does DMA (tag "dma") or declares a fault: the one the DMAR rate limit can cost a verdict. */
export function mayFault(o: Pick<ScenarioOptions, 'tags' | 'expectedFaults'>): boolean {
  return (o.tags ?? []).includes('dma') || (o.expectedFaults?.length ?? 0) > 0;
}

function guestKey(job: Job): string {
  return `${job.machine}/${job.scenario.scenario.options.image ?? 'lab'}`;
}

/** The whole budget of one scenario — boot, SSH, setup, body and the log scan — before the lab gives up on it. */
export function hardBudgetMs(bodyMs: number, scale: number): number {
  return (baseTimeouts.bootMs + baseTimeouts.sshMs + bodyMs + logScanMs) * scale;
}

/** How long a scenario may go on after its guest's console says a task is stuck, at base speed. */
const wedgeGraceMs = 2_000;

/** Reading dmesg after the body, and the reset, at base (KVM) speed. */
const logScanMs = 5_000;

/** What the job's tasks leave for the verdict: how far it got, the guest, the devices. */
interface JobState {
  phase: 'boot' | 'setup' | 'scenario' | 'watchdog';
  booted?: Booted;
  devices: Partial<Record<DeviceName, GuestDevice>>;
  /** When each phase began (Date.now()), in order: the result's phase timings. */
  began: { phase: PhaseTiming['phase']; at: number }[];
}

function enter(state: JobState, phase: JobState['phase']): void {
  state.phase = phase;
  state.began.push({ phase: phase === 'watchdog' ? 'verdict' : phase, at: Date.now() });
}

/** Each phase's duration: until the next began, the last until now. */
export function phaseTimings(began: JobState['began'], now: number): PhaseTiming[] {
  return began.map((b, i) => ({ phase: b.phase, ms: (began[i + 1]?.at ?? now) - b.at }));
}

/** One attempt at a job: its directory and what its body records. */
interface Attempt {
  dir: string;
  rel: (p: string) => string;
  artifacts: Record<string, string>;
  steps: StepResult[];
  expect: ReturnType<typeof createExpect>;
  runtimeFaults: ExpectedFault[];
  scale: number;
  /** What the scenario's vm.dmesg() keeps of the kernel log (its own part, in a reused guest). */
  logView?: (log: string) => string;
  /** How many expectations had failed when the body first read the kernel log. */
  failuresBeforeLogRead?: number;
  /** Every probe command the body ran, with what it printed: the probe.ndjson artifact. */
  probeRuns: ProbeRun[];
  /** Closed when the body's part ends (returned, threw, or cut off): the context refuses every call from then on. */
  scope: Scope;
}

export async function runJob(job: Job, opts: RunnerOptions, lane: Lane = { id: 0, guests: 0 }): Promise<ScenarioResult> {
  const info = scenarioInfo(job);
  const s = job.scenario.scenario;
  const dir = join(opts.runDir, 'scenarios', job.id.replace(/[^\w.-]+/g, '_'));
  await mkdir(dir, { recursive: true });
  await opts.reporter.onEvent({ type: 'scenario-start', scenario: info });
  const t0 = Date.now();
  const missing = missingConfig(s.options.requiresConfig, opts.kernelConfig);
  const finish = async (r: ScenarioResult) => {
    r.ms = Date.now() - t0;
    await opts.reporter.onEvent({ type: 'scenario-end', result: r });
    return r;
  };
  if (missing.length > 0) return finish(emptyResult(info, { status: 'skipped', skipReason: `the kernel under test has ${missing.join(', ')} off` }));

  const reuse = mayReuseGuest(job, opts);
  if (!reuse || lane.warm?.key !== guestKey(job)) await retire(lane);
  const first = await attemptJob(job, opts, lane, dir, reuse);
  if (opts.signal.aborted) return finish(first.result);
  const failed = ['failed', 'errored'].includes(first.result.status);
  // Run again fresh: an attempt whose DMAR messages the reused guest's kernel may have dropped,
  // or one that failed in a guest another scenario used (unless what it left behind failed it).
  if (!(first.rateLimited || (first.reused && first.leaks.length === 0 && failed))) return finish(first.result);
  await retire(lane);
  const fresh = await attemptJob(job, opts, lane, join(dir, 'fresh-guest'), false);
  const discarded = first.rateLimited ? [`run again in a fresh guest, its verdict discarded from the reused one: ${first.rateLimited}`] : [];
  const freshVerdict: ScenarioResult = { ...fresh.result, notes: [...(fresh.result.notes ?? []), ...discarded], artifacts: { ...prefixed(first.result.artifacts, 'reused-'), ...fresh.result.artifacts } };
  // What a scenario left for the next user of its guest fails it, whatever its log proves.
  if (first.leaks.length > 0) return finish({ ...freshVerdict, status: 'failed', failures: [...freshVerdict.failures, ...first.leaks] });
  // A failure only dropped DMAR messages can explain proves nothing: the fresh guest decides.
  if (first.rateLimited && (!failed || first.fromLogOnly)) {
    const why = failed ? [`in the reused guest it failed where dropped messages can explain it: ${first.result.failures[0]}`] : [];
    return finish({ ...freshVerdict, notes: [...freshVerdict.notes!, ...why] });
  }
  // The fresh guest decides, and a difference is reported.
  if (fresh.result.status !== 'passed') return finish(freshVerdict);
  const why = first.result.failures[0] ?? first.result.error?.message ?? first.result.status;
  return finish({
    ...first.result,
    status: 'failed',
    reusedOnly: true,
    failures: [`fails in a reused guest, passes fresh: ${why}`, ...first.result.failures.slice(1)],
    artifacts: { ...first.result.artifacts, ...prefixed(fresh.result.artifacts, 'fresh-') },
    ...(first.rateLimited ? { notes: [`its DMAR messages in the reused guest may have been rate-limited (${first.rateLimited}); its failure there does not depend on them`] } : {}),
  });
}

function prefixed(artifacts: Record<string, string>, prefix: string): Record<string, string> {
  return Object.fromEntries(Object.entries(artifacts).map(([k, v]) => [`${prefix}${k}`, v]));
}

function emptyResult(info: ScenarioInfo, partial: Partial<ScenarioResult> & Pick<ScenarioResult, 'status'>): ScenarioResult {
  return { scenario: info, ms: 0, steps: [], failures: [], observations: [], dmar: { expected: [], observed: [], unexpected: [], missing: [] }, findings: [], artifacts: {}, ...partial };
}

/** One attempt: a guest (handed on, or booted), the tasks under one hard deadline, the verdict, the reset. */
/** What one attempt ended with, for runJob to decide whether it stands. */
interface AttemptOutcome {
  result: ScenarioResult;
  /** It ran in a guest another scenario had used. */
  reused: boolean;
  /** The reset check's findings: state the attempt left for the next user (they fail it). */
  leaks: string[];
  /** Why its DMAR messages may have been rate-limited by earlier scenarios' (ratelimit.ts). */
  rateLimited?: string;
  /**
   * It failed only on expectations recorded after the body first read the kernel log (no error,
   * no finding, nothing the lab itself judged): dropped DMAR messages could explain all of it.
   */
  fromLogOnly: boolean;
}

async function attemptJob(job: Job, opts: RunnerOptions, lane: Lane, dir: string, reuse: boolean): Promise<AttemptOutcome> {
  const s = job.scenario.scenario;
  await mkdir(dir, { recursive: true });
  const scale = timeScale(opts.accel);
  const marker = beginMarker(`${job.id}#${Date.now()}`);
  // A guest booted ahead counts its wait as this scenario's boot phase.
  const waitFrom = Date.now();
  const warm = reuse ? (lane.warm ?? (await lane.ahead?.take(guestKey(job)))) : undefined;
  lane.warm = undefined;
  const state: JobState = { phase: warm ? 'setup' : 'boot', devices: {}, booted: warm?.booted, began: warm && warm.last === undefined ? [{ phase: 'boot', at: waitFrom }] : [] };
  if (!warm) enter(state, 'boot');
  /** It runs in a guest another scenario used (a guest booted ahead is fresh). */
  const reused = warm?.last !== undefined;
  // In a guest another scenario used, the scenario's dmesg() and verdict start at its own marker;
  // the first one in a guest (booted for it, or ahead) is judged on the whole log, boot included.
  const logView = reused
    ? (log: string) => {
        x.failuresBeforeLogRead ??= x.expect.failures.length;
        return sinceMarker(log, marker);
      }
    : undefined;
  const x: Attempt = { dir, rel: (p) => relative(opts.runDir, p), artifacts: {}, steps: [], expect: createExpect(), runtimeFaults: [], scale, logView, probeRuns: [], scope: new Scope() };
  const info = scenarioInfo(job);
  const result = (partial: Partial<ScenarioResult> & Pick<ScenarioResult, 'status'>): ScenarioResult =>
    emptyResult(info, { steps: x.steps, failures: [...x.expect.failures], observations: [...x.expect.observations], artifacts: x.artifacts, phases: phaseTimings(state.began, Date.now()), ...partial });

  // Earlier scenarios' DMAR messages count against this one's rate limit: leave room to one that
  // may fault (ratelimit.ts). One that does no DMA starts at once: an unexpected fault of its own
  // over the limit still shows (its status line without its record) and runs it again fresh.
  const paceMs = warm && mayFault(s.options) ? paceMsIn(warm, opts) : 0;
  // The guest's own teardown (QEMU, SSH): the warm guest's, or a new one's.
  const guestCleanup = warm?.cleanup ?? new CleanupStack();
  if (!warm) processCleanup.push(`guests of ${job.id}`, () => guestCleanup.run().then(() => undefined));
  const guestDir = warm?.dir ?? (reuse ? join(opts.runDir, 'guests', `worker-${lane.id}-guest-${++lane.guests}`) : dir);
  let idleDrivers = warm?.idleDrivers;
  let serialFrom = 0;

  // One hard deadline over everything the scenario does; an interrupt aborts it too.
  const hard = new Deadline(`scenario ${job.id}`, hardBudgetMs(s.options.timeoutMs, scale), opts.signal);
  const watch = new AbortController();
  let error: unknown;
  try {
    const work = (async () => {
      if (!state.booted) {
        const boot = () => bootFor(job, opts, guestCleanup, guestDir, hard.signal, lane.ahead?.estimates);
        state.booted = await (lane.ahead ? lane.ahead.workerBoot(boot) : boot());
        if (reuse) idleDrivers = await bootDrivers(state.booted, job.machine);
      }
      if (reused) {
        serialFrom = (await readSerial(state.booted.machine.serialLog)).length;
        // What its console printed after the last verdict and before this scenario began.
        await lane.outside?.judge(state.booted.machine.serialLog, warm!.judgedTo, { between: [warm!.last!, job.id] }, serialFrom);
      }
      // The marker goes out in the setup's first exec: each exec is a round trip (~55 ms under TCG).
      await runTasks(job, opts, state, hard.signal, x, reuse ? `echo ${quote(marker)} > /dev/kmsg` : undefined, paceMs);
    })();
    work.catch(() => {}); // it may settle after the deadline won the race
    // A task stuck in the guest's kernel would hold the scenario until its command times out.
    const wedge = watchForWedge({
      serial: async () => (state.booted ? (await readSerial(state.booted.machine.serialLog)).slice(serialFrom) : null),
      graceMs: wedgeGraceMs * scale,
      signal: AbortSignal.any([watch.signal, hard.signal]),
    });
    wedge.catch(() => {});
    await Promise.race([work, rejectOnAbort(hard.signal), wedge]);
  } catch (e) {
    error = e;
  } finally {
    watch.abort();
    // From here on the verdict is being made: a body still running (cut off by its deadline or
    // the wedge watch) can change nothing of it, and cannot touch the guest being judged.
    x.scope.close(error === undefined ? 'its body had returned' : (error as Error).message?.split('\n')[0] ?? String(error));
  }
  let handedOn = false;
  /** How far into its console log this attempt's verdict judged (guest-log.ts judges the rest). */
  let judgedTo = serialFrom;
  /** The kernel log after the body, and the guest's clock for pacing its next user. */
  let read: Awaited<ReturnType<typeof collectDmesg>> = null;
  const leaks: string[] = [];
  // The log scan and the verdict, also after a body that threw (whose phase the verdict names).
  if (state.began.at(-1)?.phase !== 'verdict') state.began.push({ phase: 'verdict', at: Date.now() });
  // A body that skipped itself is judged as any other: its log and, before hand-on, its reset.
  const skipped = error instanceof SkipSignal ? error.reason : undefined;
  if (skipped !== undefined) error = undefined;
  try {
    const interrupted = opts.signal.aborted;
    const machine = state.booted?.machine;
    if (machine) {
      // A panicking guest takes a moment to end QEMU (panic=-1): let it, so the verdict sees it.
      for (let i = 0; i < 30 && !machine.hasExited && /Kernel panic/.test((await readSerial(machine.serialLog)).slice(serialFrom)); i++) await sleep(100);
    }
    // A guest that may be handed on is reset in the same exec as the log read, before it: what
    // the kernel logs while the devices are rebound and re-bound (a WARN) is this scenario's.
    const used = Object.values(state.devices) as GuestDevice[];
    const mayPass = reuse && !interrupted && error === undefined && x.expect.failures.length === 0 && machine !== undefined && !machine.hasExited;
    read = interrupted ? null : await collectDmesg(state.booted, logScanMs * scale, mayPass ? resetAfter(used, idleDrivers ?? new Map(), scale) : undefined);
    const fullDmesg = read?.log ?? null;
    const dmesg = fullDmesg === null ? null : reused ? sinceMarker(fullDmesg, marker) : fullDmesg;
    if (dmesg !== null) {
      await writeFile(join(dir, 'dmesg.txt'), dmesg);
      x.artifacts.dmesg = x.rel(join(dir, 'dmesg.txt'));
    }
    if (x.probeRuns.length > 0) {
      await writeFile(join(dir, 'probe.ndjson'), x.probeRuns.map((run) => `${JSON.stringify(run)}\n`).join(''));
      x.artifacts.probe = x.rel(join(dir, 'probe.ndjson'));
    }
    // A guest that died booting has no machine here: its whole console log is judged (the
    // BootError's tail may start after the oops that caused the panic), and kept as an artifact.
    const bootLog = !machine && error instanceof BootError ? error.serialLog : undefined;
    if (bootLog) x.artifacts.serial = x.rel(bootLog);
    const serial = machine ? (await readSerial(machine.serialLog)).slice(serialFrom) : bootLog ? (await readSerial(bootLog)) || (error as BootError).serialTail : '';
    if (machine) judgedTo = serialFrom + serial.length;
    if (machine) {
      // A reused guest's console log spans scenarios: each keeps its own part.
      if (reuse) await writeFile(join(dir, 'serial.log'), serial);
      x.artifacts.serial = x.rel(reuse ? join(dir, 'serial.log') : machine.serialLog);
      x.artifacts['qemu-cmdline'] = x.rel(join(guestDir, 'qemu-cmdline.sh'));
    }
    const bdfs = Object.fromEntries(Object.entries(state.devices).map(([k, d]) => [k, d!.bdf]));
    const verdict = judgeScenario({
      phase: state.phase,
      failures: x.expect.failures,
      error: error === undefined ? undefined : { message: (error as Error).message, phase: error instanceof TimeoutError ? error.phase : state.phase },
      interrupted,
      ...(skipped !== undefined ? { skipped } : {}),
      dmesg,
      serial,
      qemuExit: machine?.hasExited ? qemuExitOf(machine) : undefined,
      expectedFaults: [...(s.options.expectedFaults ?? []), ...x.runtimeFaults],
      devices: bdfs,
    });
    if (verdict.error && verdict.status !== 'interrupted') verdict.error.serialTail = error instanceof BootError ? error.serialTail : tail(serial, 40);
    const r = result(verdict);
    // Earlier scenarios' DMAR messages count against the kernel's rate limit too (ratelimit.ts).
    const rateLimited = reused && fullDmesg !== null && !interrupted ? dmarMessagesMayBeSuppressed(fullDmesg, marker) : null;
    const fromLogOnly = failureMayComeFromDroppedMessages(r, x.expect.failures.length, x.failuresBeforeLogRead);
    if ((r.status === 'passed' || r.status === 'skipped') && reuse) {
      // Without interrupt remapping every BIND is refused (EPERM): a new user gets that, not a leak.
      const expectedBind = machineProfile(job.machine).iommu.intremap ? 0 : EPERM;
      // A reset that did not finish where the log could still be read left a guest its next user
      // would hang in: the scenario's doing, as any other leak.
      const check =
        read?.reset != null
          ? readReset(read.reset, used, idleDrivers ?? new Map(), expectedBind)
          : read?.resetError
            ? { leaks: [`the reset did not finish (${read.resetError})`], notReusable: [] }
            : { leaks: [], notReusable: ['no reset ran'] };
      if (check.leaks.length > 0) {
        leaks.push(...check.leaks.map((l) => `left for the next user of the guest: ${l}`));
        r.status = 'failed';
        r.failures.push(...leaks);
      } else if (check.notReusable.length === 0 && !rateLimited) handedOn = await handOn();
      else opts.progress.info(`${job.id}: its guest is not handed on (${check.notReusable.join('; ')})`);
    }
    if (opts.keepFailed && r.status === 'failed' && machine && !machine.hasExited) {
      kept.add(state.booted!);
      r.artifacts.kept = `guest left running (pid ${machine.pid}, ssh 127.0.0.1:${machine.sshPort}): ./labw ssh, then ./labw clean`;
    }
    return { result: r, reused, leaks, fromLogOnly, ...(rateLimited ? { rateLimited } : {}) };
  } finally {
    hard.dispose();
    if (!handedOn) {
      await unwind(guestCleanup, `of the guest of ${job.id}`, opts.reporter);
      // What the console printed after the verdict's read, up to QEMU's end.
      const machine = state.booted?.machine;
      if (machine && !opts.signal.aborted) await lane.outside?.judge(machine.serialLog, judgedTo, { after: job.id });
    }
  }

  async function handOn(): Promise<boolean> {
    const booted = state.booted;
    if (!reuse || !booted || booted.machine.hasExited || !idleDrivers) return false;
    // Where each device has an IOMMU group of its own, one left on vfio-pci changes nothing for
    // the others; where two share a group, its sibling's driver decides whether a BIND can work.
    const drivers = new Map(idleDrivers);
    if (machineProfile(job.machine).topology === 'separate') for (const d of Object.values(state.devices)) if (d) drivers.set(d.bdf, 'vfio-pci');
    const dmar = read?.guestS != null ? { tokens: dmarTokenTimes(read.log.split('\n'), read.guestS), guestS: read.guestS, hostMs: read.atMs } : undefined;
    lane.warm = { key: guestKey(job), booted, cleanup: guestCleanup, idleDrivers: drivers, dir: guestDir, judgedTo, last: job.id, ...(dmar ? { dmar } : {}) };
    return true;
  }
}

/** The driver each of the machine's devices is on, read once its guest is up: what the reset restores. */
async function bootDrivers(booted: Booted, machine: string): Promise<Map<string, string>> {
  return parseDrivers((await booted.vm.exec(driversScript(Object.values(deviceAddresses(machineProfile(machine)))))).stdout);
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

/** Devices → body, each phase recorded in state for the verdict. */
async function runTasks(job: Job, opts: RunnerOptions, state: JobState, signal: AbortSignal, x: Attempt, marker?: string, paceMs = 0): Promise<void> {
  const s = job.scenario.scenario;
  const booted = state.booted!;
  enter(state, 'setup');
  // Part of the setup: waiting for earlier scenarios' DMAR messages to leave the rate-limit window.
  if (paceMs > 0) await sleep(paceMs, signal);
  const addresses = deviceAddresses(machineProfile(job.machine)) as Record<DeviceName, string>;
  state.devices = await bindToVfio(booted.vm, addresses, s.options.devices, marker);
  enter(state, 'scenario');
  const deferred = new CleanupStack();
  const ctx = scenarioContext(job, opts, booted, state.devices, signal, x, deferred);
  const body = async () => {
    try {
      await s.body(ctx);
    } finally {
      // The scenario's own teardowns, inside its deadline and scope, whatever the body did.
      const failed = await deferred.run();
      // A body cut off by its deadline runs them too, but its result is already final.
      if (!x.scope.closed) for (const e of failed) x.expect.fail(e.message.replace(/^teardown of (.*?) failed: /, 'teardown "$1" failed: '));
    }
  };
  await withTimeout(body(), s.options.timeoutMs * x.scale, `scenario ${job.id}`);
  enter(state, 'watchdog');
}

const EPERM = 1;

/** Guests kept running for `./labw ssh` because their scenario failed. */
const kept = new WeakSet<Booted>();

function scenarioContext(
  job: Job,
  opts: RunnerOptions,
  booted: Booted,
  devices: Partial<Record<DeviceName, GuestDevice>>,
  signal: AbortSignal,
  x: Attempt,
  deferred: CleanupStack,
): ScenarioContext {
  const s = job.scenario.scenario;
  const { steps, scope } = x;
  const expect = scope.guard(x.expect, 'expect');
  const vm = scope.guard(x.logView ? booted.vm.withLogView(x.logView) : booted.vm, 'vm');
  const record = async (step: StepResult) => {
    // A step that ends after the scope closed is not the result's: its caller gets the refusal.
    scope.check(`step "${step.title}"`);
    steps.push(step);
    await opts.reporter.onEvent({ type: 'step', scenarioId: job.id, step });
  };
  return {
    vm,
    probe: scope.guard(new Probe(vm, { timeScale: x.scale, record: (run) => x.probeRuns.push(run) }), 'probe'),
    // Scenarios without devices (the selftest pack) never read it.
    device: devices[s.options.devices[0] ?? 'nvme'] as GuestDevice,
    devices,
    expect,
    signal,
    kernelConfig: opts.kernelConfig,
    machine: job.machine,
    kernel: { release: opts.guest.kernel.release, selftests: opts.guest.kernel.selftests },
    expectFault: (fault) => {
      scope.check('expectFault()');
      checkExpectedFault(fault, `scenario ${job.id}: expectFault`);
      x.runtimeFaults.push(fault);
    },
    skip: (reason) => {
      throw new SkipSignal(reason);
    },
    defer: (name, fn) => {
      scope.check(`defer("${name}")`);
      deferred.push(name, fn);
    },
    attach: async (name, content) => {
      scope.check(`attach("${name}")`);
      const path = join(x.dir, name);
      await writeFile(path, content);
      x.artifacts[name] = x.rel(path);
    },
    step: async (title, fn) => {
      scope.check(`step "${title}"`);
      const st = Date.now();
      const before = x.expect.failures.length;
      let value: Awaited<ReturnType<typeof fn>>;
      try {
        value = await fn();
      } catch (error) {
        await record({ title, status: 'errored', ms: Date.now() - st, message: (error as Error).message });
        throw error;
      }
      const failed = x.expect.failures.length > before;
      await record({ title, status: failed ? 'failed' : 'passed', ms: Date.now() - st, ...(failed ? { message: x.expect.failures.slice(before).join('\n') } : {}) });
      return value;
    },
  };
}

/** The kernel log after a scenario, and what the reset before it printed. */
interface AfterRead {
  log: string;
  /** The guest's uptime at the read, for pacing its next user. */
  guestS: number | null;
  atMs: number;
  /** The reset's part of the output (null: no reset ran, or it did not finish). */
  reset: string | null;
  /** Why a reset that was asked for did not finish. */
  resetError?: string;
}

/**
 * The guest's kernel log with timestamps (timestampedDmesg: the DMAR rate-limit check reads
 * them, every scanner strips them), or null for a guest that is dead or hung rather than another
 * long wait.
 */
async function collectDmesg(booted: Booted | undefined, timeoutMs: number, reset?: string): Promise<AfterRead | null> {
  if (!booted || booted.machine.hasExited) return null;
  const read = async (script: string) => {
    const r = await booted.vm.exec(script, { timeoutMs });
    if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}: ${r.stderr.trim().slice(0, 200)}`);
    return { stdout: r.stdout, guestS: uptimeSeconds(r.stderr), atMs: Date.now() };
  };
  let resetError: string | undefined;
  if (reset) {
    try {
      const r = await read(afterScript(reset, timestampedDmesg));
      const parts = splitAfter(r.stdout);
      if (parts) return { log: parts.rest, guestS: r.guestS, atMs: r.atMs, reset: parts.reset };
      resetError = 'its output lacks the line that ends it';
    } catch (error) {
      resetError = (error as Error).message;
    }
  }
  // Without a reset, or after one that did not finish: the log alone.
  try {
    const r = await read(timestampedDmesg);
    return { log: r.stdout, guestS: r.guestS, atMs: r.atMs, reset: null, ...(resetError ? { resetError } : {}) };
  } catch {
    return null;
  }
}

/** How QEMU ended, in words: "QEMU exited (signal 9)". */
function qemuExitOf(machine: Booted['machine']): string {
  return machine.exitDescription ?? 'QEMU exited';
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
