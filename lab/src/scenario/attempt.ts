// One attempt at a job, as named stages, each returning what the next needs:
//   acquire  a guest for it (the worker's, one booted ahead, or none yet) and its record;
//   body     boot if needed, setup and the body, under one hard deadline and the wedge watch;
//   collect  the kernel log after the body (with the reset, for a guest that may be handed on)
//            and the artifacts;
//   judge    the verdict (verdict.ts) and what the DMAR rate limit may have cost it;
//   release  the reset check, then the guest handed on, kept for `./labw ssh`, or stopped.
// runner.ts decides whether an attempt's verdict stands or a fresh guest runs it again.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { baseTimeouts } from '../lab.ts';
import { timeScale } from '../qemu/accel.ts';
import { machineProfile } from '../qemu/profile.ts';
import { readSerial, tail } from '../qemu/serial.ts';
import type { ScenarioInfo, ScenarioResult } from '../report/events.ts';
import { CleanupStack, processCleanup } from '../util/cleanup.ts';
import { Deadline, sleep } from '../util/deadline.ts';
import { asDiskFull, diskFullBehind } from '../util/disk-full.ts';
import { BootError, TimeoutError } from '../util/errors.ts';
import { quote } from '../util/quote.ts';
import { enter, phaseTimings, runBody, type AttemptRecord, type JobState } from './body.ts';
import { SkipSignal, type GuestDevice } from './define.ts';
import { createExpect } from './expect.ts';
import { bootDrivers, guestKey, keepRunning, mayFault, paceMsIn, unwind, type Booted, type GuestPool, type Lane, type RunnerOptions, type Warm } from './guest-pool.ts';
import type { Job } from './planner.ts';
import { dmarMessagesMayBeSuppressed, dmarTokenTimes, failureMayComeFromDroppedMessages, timestampedDmesg, uptimeSeconds } from './ratelimit.ts';
import { afterScript, beginMarker, readReset, resetAfter, sinceMarker, splitAfter } from './reset.ts';
import { Scope } from './scope.ts';
import { judgeScenario } from './verdict.ts';
import { watchForWedge } from './wedge.ts';

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

export function emptyResult(info: ScenarioInfo, partial: Partial<ScenarioResult> & Pick<ScenarioResult, 'status'>): ScenarioResult {
  return { scenario: info, ms: 0, steps: [], failures: [], observations: [], dmar: { expected: [], observed: [], unexpected: [], missing: [] }, findings: [], artifacts: {}, ...partial };
}

/** The whole budget of one scenario — boot, SSH, setup, body and the log scan — before the lab gives up on it. */
function hardBudgetMs(bodyMs: number, scale: number): number {
  return (baseTimeouts.bootMs + baseTimeouts.sshMs + bodyMs + logScanMs) * scale;
}

/** How long a scenario may go on after its guest's console says a task is stuck, at base speed. */
const wedgeGraceMs = 2_000;

/** Reading dmesg after the body, and the reset, at base (KVM) speed. */
const logScanMs = 5_000;

const EPERM = 1;

/** What one attempt ended with, for runJob to decide whether it stands. */
export interface AttemptOutcome {
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

/** The attempt as the stages pass it on: its guest, its record, and how far its console log was judged. */
interface Attempt {
  job: Job;
  opts: RunnerOptions;
  pool: GuestPool;
  lane: Lane;
  dir: string;
  /** It may run in (and hand on) a guest other scenarios use. */
  reuse: boolean;
  /** It runs in a guest another scenario used (a guest booted ahead is fresh). */
  reused: boolean;
  warm?: Warm;
  state: JobState;
  x: AttemptRecord;
  marker: string;
  paceMs: number;
  /** The guest's own teardown (QEMU, SSH): the warm guest's, or a new one's. */
  guestCleanup: CleanupStack;
  guestDir: string;
  /** The driver each device must be on after the reset (Warm.idleDrivers); read at boot when reuse. */
  idleDrivers?: Map<string, string>;
  /** Where this attempt's part of the console log starts. */
  serialFrom: number;
  /** How far into its console log this attempt's verdict judged (guest-log.ts judges the rest). */
  judgedTo: number;
  handedOn: boolean;
}

export async function attemptJob(job: Job, opts: RunnerOptions, pool: GuestPool, lane: Lane, dir: string, reuse: boolean): Promise<AttemptOutcome> {
  await mkdir(dir, { recursive: true });
  const a = await acquire(job, opts, pool, lane, dir, reuse);
  // One hard deadline over everything the scenario does; an interrupt aborts it too.
  const hard = new Deadline(`scenario ${job.id}`, hardBudgetMs(job.scenario.scenario.options.timeoutMs, a.x.scale), opts.signal);
  try {
    const ran = await body(a, hard.signal);
    // A full disk is not the scenario's verdict: the run stops (session.ts), keeping what it had.
    const full = diskFullBehind(ran.error);
    if (full) throw asDiskFull(full, full.path ?? dir);
    const seen = await collect(a, ran);
    const judged = judge(a, ran, seen);
    return await release(a, seen, judged);
  } finally {
    hard.dispose();
    if (!a.handedOn) {
      await unwind(a.guestCleanup, `of the guest of ${job.id}`, opts.reporter);
      // What the console printed after the verdict's read, up to QEMU's end.
      const machine = a.state.booted?.machine;
      if (machine && !opts.signal.aborted) await pool.outside.judge(machine.serialLog, a.judgedTo, { after: job.id });
    }
  }
}

/** Stage 1: the guest (handed on, booted ahead, or none: the body boots one) and an empty record. */
async function acquire(job: Job, opts: RunnerOptions, pool: GuestPool, lane: Lane, dir: string, reuse: boolean): Promise<Attempt> {
  const s = job.scenario.scenario;
  const marker = beginMarker(`${job.id}#${Date.now()}`);
  // A guest booted ahead counts its wait as this scenario's boot phase.
  const waitFrom = Date.now();
  const warm = reuse ? await pool.take(lane, guestKey(job)) : undefined;
  const state: JobState = { phase: warm ? 'setup' : 'boot', devices: {}, booted: warm?.booted, began: warm && warm.last === undefined ? [{ phase: 'boot', at: waitFrom }] : [] };
  if (!warm) enter(state, 'boot');
  const reused = warm?.last !== undefined;
  // In a guest another scenario used, the scenario's dmesg() and verdict start at its own marker;
  // the first one in a guest (booted for it, or ahead) is judged on the whole log, boot included.
  const logView = reused
    ? (log: string) => {
        x.failuresBeforeLogRead ??= x.expect.failures.length;
        return sinceMarker(log, marker);
      }
    : undefined;
  const x: AttemptRecord = { dir, rel: (p) => relative(opts.runDir, p), artifacts: {}, steps: [], expect: createExpect(), runtimeFaults: [], scale: timeScale(opts.accel), logView, probeRuns: [], scope: new Scope() };
  // Earlier scenarios' DMAR messages count against this one's rate limit: leave room to one that
  // may fault (ratelimit.ts). One that does no DMA starts at once: an unexpected fault of its own
  // over the limit still shows (its status line without its record) and runs it again fresh.
  const paceMs = warm && mayFault(s.options) ? paceMsIn(warm, opts) : 0;
  const guestCleanup = warm?.cleanup ?? new CleanupStack();
  if (!warm) processCleanup.push(`guests of ${job.id}`, () => guestCleanup.run().then(() => undefined));
  const guestDir = warm?.dir ?? (reuse ? join(opts.runDir, 'guests', `worker-${lane.id}-guest-${++lane.guests}`) : dir);
  return { job, opts, pool, lane, dir, reuse, reused, ...(warm ? { warm } : {}), state, x, marker, paceMs, guestCleanup, guestDir, ...(warm ? { idleDrivers: warm.idleDrivers } : {}), serialFrom: 0, judgedTo: 0, handedOn: false };
}

/** What the body stage ended with: the error that ended it (none if it returned), or the reason it skipped itself. */
interface Ran {
  error: unknown;
  skipped?: string;
}

/** Stage 2: boot (if no guest was handed over), setup and body under the hard deadline and the wedge watch. */
async function body(a: Attempt, deadline: AbortSignal): Promise<Ran> {
  const { job, opts, state, x } = a;
  const watch = new AbortController();
  let error: unknown;
  try {
    const work = (async () => {
      if (!state.booted) {
        state.booted = await a.pool.boot(job, a.guestCleanup, a.guestDir, deadline);
        if (a.reuse) a.idleDrivers = await bootDrivers(state.booted, job.machine);
      }
      if (a.reused) {
        a.serialFrom = (await readSerial(state.booted.machine.serialLog)).length;
        // What its console printed after the last verdict and before this scenario began.
        await a.pool.outside.judge(state.booted.machine.serialLog, a.warm!.judgedTo, { between: [a.warm!.last!, job.id] }, a.serialFrom);
      }
      // The marker goes out in the setup's first exec: each exec is a round trip (~55 ms under TCG).
      await runBody(job, opts, state, deadline, x, a.reuse ? `echo ${quote(a.marker)} > /dev/kmsg` : undefined, a.paceMs);
    })();
    work.catch(() => {}); // it may settle after the deadline won the race
    // A task stuck in the guest's kernel would hold the scenario until its command times out.
    const wedge = watchForWedge({
      serial: async () => (state.booted ? (await readSerial(state.booted.machine.serialLog)).slice(a.serialFrom) : null),
      graceMs: wedgeGraceMs * x.scale,
      signal: AbortSignal.any([watch.signal, deadline]),
    });
    wedge.catch(() => {});
    await Promise.race([work, rejectOnAbort(deadline), wedge]);
  } catch (e) {
    error = e;
  } finally {
    watch.abort();
    // From here on the verdict is being made: a body still running (cut off by its deadline or
    // the wedge watch) can change nothing of it, and cannot touch the guest being judged.
    x.scope.close(error === undefined ? 'its body had returned' : ((error as Error).message?.split('\n')[0] ?? String(error)));
  }
  a.judgedTo = a.serialFrom;
  // The log scan and the verdict, also after a body that threw (whose phase the verdict names).
  if (state.began.at(-1)?.phase !== 'verdict') state.began.push({ phase: 'verdict', at: Date.now() });
  // A body that skipped itself is judged as any other: its log and, before hand-on, its reset.
  if (error instanceof SkipSignal) return { error: undefined, skipped: error.reason };
  return { error };
}

/** What the collect stage read: the kernel log (whole and the attempt's part), the console, the reset's output. */
interface Collected {
  interrupted: boolean;
  machine?: Booted['machine'];
  /** The devices the body used: what the reset rebinds and checks. */
  used: GuestDevice[];
  read: AfterRead | null;
  fullDmesg: string | null;
  /** The attempt's part of the kernel log (from its marker, in a reused guest). */
  dmesg: string | null;
  /** The attempt's part of the console log. */
  serial: string;
}

/** Stage 3: the kernel log (and the reset, in the same exec, for a guest that may be handed on), the console, the artifacts. */
async function collect(a: Attempt, ran: Ran): Promise<Collected> {
  const { opts, state, x, dir } = a;
  const interrupted = opts.signal.aborted;
  const machine = state.booted?.machine;
  if (machine) {
    // A panicking guest takes a moment to end QEMU (panic=-1): let it, so the verdict sees it.
    for (let i = 0; i < 30 && !machine.hasExited && /Kernel panic/.test((await readSerial(machine.serialLog)).slice(a.serialFrom)); i++) await sleep(100);
  }
  // A guest that may be handed on is reset in the same exec as the log read, before it: what
  // the kernel logs while the devices are rebound and re-bound (a WARN) is this scenario's.
  const used = Object.values(state.devices) as GuestDevice[];
  const mayPass = a.reuse && !interrupted && ran.error === undefined && x.expect.failures.length === 0 && machine !== undefined && !machine.hasExited;
  const read = interrupted ? null : await collectDmesg(state.booted, logScanMs * x.scale, mayPass ? resetAfter(used, a.idleDrivers ?? new Map(), x.scale) : undefined);
  const fullDmesg = read?.log ?? null;
  const dmesg = fullDmesg === null ? null : a.reused ? sinceMarker(fullDmesg, a.marker) : fullDmesg;
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
  const bootLog = !machine && ran.error instanceof BootError ? ran.error.serialLog : undefined;
  if (bootLog) x.artifacts.serial = x.rel(bootLog);
  const serial = machine ? (await readSerial(machine.serialLog)).slice(a.serialFrom) : bootLog ? (await readSerial(bootLog)) || (ran.error as BootError).serialTail : '';
  if (machine) {
    a.judgedTo = a.serialFrom + serial.length;
    // A reused guest's console log spans scenarios: each keeps its own part.
    if (a.reuse) await writeFile(join(dir, 'serial.log'), serial);
    x.artifacts.serial = x.rel(a.reuse ? join(dir, 'serial.log') : machine.serialLog);
    x.artifacts['qemu-cmdline'] = x.rel(join(a.guestDir, 'qemu-cmdline.sh'));
  }
  return { interrupted, ...(machine ? { machine } : {}), used, read, fullDmesg, dmesg, serial };
}

/** What the judge stage decided, before the reset check. */
interface Judged {
  result: ScenarioResult;
  rateLimited: string | null;
  fromLogOnly: boolean;
}

/** Stage 4: the verdict on what the body recorded and the logs showed; and whether the rate limit may have cost it messages. */
function judge(a: Attempt, ran: Ran, seen: Collected): Judged {
  const { job, state, x } = a;
  const { error } = ran;
  const bdfs = Object.fromEntries(Object.entries(state.devices).map(([k, d]) => [k, d!.bdf]));
  const verdict = judgeScenario({
    phase: state.phase,
    failures: x.expect.failures,
    error: error === undefined ? undefined : { message: (error as Error).message, phase: error instanceof TimeoutError ? error.phase : state.phase },
    interrupted: seen.interrupted,
    ...(ran.skipped !== undefined ? { skipped: ran.skipped } : {}),
    dmesg: seen.dmesg,
    serial: seen.serial,
    qemuExit: seen.machine?.hasExited ? (seen.machine.exitDescription ?? 'QEMU exited') : undefined,
    expectedFaults: [...(job.scenario.scenario.options.expectedFaults ?? []), ...x.runtimeFaults],
    devices: bdfs,
  });
  if (verdict.error && verdict.status !== 'interrupted') verdict.error.serialTail = error instanceof BootError ? error.serialTail : tail(seen.serial, 40);
  const result = emptyResult(scenarioInfo(job), { steps: x.steps, observations: [...x.expect.observations], artifacts: x.artifacts, phases: phaseTimings(state.began, Date.now()), ...verdict });
  // Earlier scenarios' DMAR messages count against the kernel's rate limit too (ratelimit.ts).
  const rateLimited = a.reused && seen.fullDmesg !== null && !seen.interrupted ? dmarMessagesMayBeSuppressed(seen.fullDmesg, a.marker) : null;
  const fromLogOnly = failureMayComeFromDroppedMessages(result, x.expect.failures.length, x.failuresBeforeLogRead);
  return { result, rateLimited, fromLogOnly };
}

/** Stage 5: the reset check (a leak fails the attempt), then the guest handed on or kept for `./labw ssh`; the caller stops the rest. */
async function release(a: Attempt, seen: Collected, judged: Judged): Promise<AttemptOutcome> {
  const { job, opts } = a;
  const { result: r, rateLimited, fromLogOnly } = judged;
  const leaks: string[] = [];
  if ((r.status === 'passed' || r.status === 'skipped') && a.reuse) {
    // Without interrupt remapping every BIND is refused (EPERM): a new user gets that, not a leak.
    const expectedBind = machineProfile(job.machine).iommu.intremap ? 0 : EPERM;
    // A reset that did not finish where the log could still be read left a guest its next user
    // would hang in: the scenario's doing, as any other leak.
    const check =
      seen.read?.reset != null
        ? readReset(seen.read.reset, seen.used, a.idleDrivers ?? new Map(), expectedBind)
        : seen.read?.resetError
          ? { leaks: [`the reset did not finish (${seen.read.resetError})`], notReusable: [] }
          : { leaks: [], notReusable: ['no reset ran'] };
    if (check.leaks.length > 0) {
      leaks.push(...check.leaks.map((l) => `left for the next user of the guest: ${l}`));
      r.status = 'failed';
      r.failures.push(...leaks);
    } else if (check.notReusable.length === 0 && !rateLimited) a.handedOn = handOn(a, seen.read);
    else opts.progress.info(`${job.id}: its guest is not handed on (${check.notReusable.join('; ')})`);
  }
  const machine = seen.machine;
  if (opts.keepFailed && r.status === 'failed' && machine && !machine.hasExited) {
    keepRunning(a.state.booted!);
    r.artifacts.kept = `guest left running (pid ${machine.pid}, ssh 127.0.0.1:${machine.sshPort}): ./labw ssh, then ./labw clean`;
  }
  return { result: r, reused: a.reused, leaks, fromLogOnly, ...(rateLimited ? { rateLimited } : {}) };
}

/** Gives the guest back to the pool for the lane's next scenario, with the drivers its reset restores and its DMAR clock. */
function handOn(a: Attempt, read: AfterRead | null): boolean {
  const { job } = a;
  const booted = a.state.booted;
  if (!a.reuse || !booted || booted.machine.hasExited || !a.idleDrivers) return false;
  // Where each device has an IOMMU group of its own, one left on vfio-pci changes nothing for
  // the others; where two share a group, its sibling's driver decides whether a BIND can work.
  const drivers = new Map(a.idleDrivers);
  if (machineProfile(job.machine).topology === 'separate') for (const d of Object.values(a.state.devices)) if (d) drivers.set(d.bdf, 'vfio-pci');
  const dmar = read?.guestS != null ? { tokens: dmarTokenTimes(read.log.split('\n'), read.guestS), guestS: read.guestS, hostMs: read.atMs } : undefined;
  a.pool.handOn(a.lane, { key: guestKey(job), booted, cleanup: a.guestCleanup, idleDrivers: drivers, dir: a.guestDir, judgedTo: a.judgedTo, last: job.id, ...(dmar ? { dmar } : {}) });
  return true;
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

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
