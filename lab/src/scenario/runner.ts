// Running planned jobs: one guest per scenario, devices handed to vfio-pci, the body under a
// deadline, the kernel-log watchdog afterwards, teardown LIFO whatever happened. Emits events;
// never prints.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { baseTimeouts, bootGuest, type GuestArtifacts } from '../lab.ts';
import { timeScale } from '../qemu/accel.ts';
import type { Accel } from '../qemu/argv.ts';
import { deviceAddresses, machineProfile } from '../qemu/profile.ts';
import { readSerial, tail } from '../qemu/serial.ts';
import type { Reporter, ScenarioInfo, ScenarioResult, StepResult } from '../report/events.ts';
import { CleanupStack, processCleanup } from '../util/cleanup.ts';
import { Deadline, sleep } from '../util/deadline.ts';
import { BootError, TimeoutError } from '../util/errors.ts';
import type { Progress } from '../util/progress.ts';
import { SkipSignal, type DeviceName, type ExpectedFault, type GuestDevice, type ScenarioContext } from './define.ts';
import { judgeScenario } from './verdict.ts';
import { bindToVfio } from './devices.ts';
import { createExpect } from './expect.ts';
import type { Job } from './planner.ts';
import { Probe } from './probe.ts';
import { withVmmImage } from '../image/vmm.ts';

export interface RunnerOptions {
  guest: GuestArtifacts;
  kernelConfig: ReadonlyMap<string, string>;
  accel: Accel;
  runDir: string;
  cache: string;
  reporter: Reporter;
  progress: Progress;
  jobs: number;
  signal: AbortSignal;
  /** Leave the guest of a failed scenario running for `lab ssh` (stopped by `lab clean`). */
  keepFailed?: boolean;
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

/** Runs jobs, at most `jobs` guests at a time; results come back in job order. */
export async function runJobs(jobs: Job[], opts: RunnerOptions): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length && !opts.signal.aborted) {
      const i = next++;
      results[i] = await runJob(jobs[i]!, opts);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.jobs, jobs.length)) }, worker));
  return results.filter(Boolean);
}

function missingConfig(required: string[] | undefined, config: ReadonlyMap<string, string>): string[] {
  return (required ?? []).filter((name) => !['y', 'm'].includes(config.get(name) ?? 'n'));
}

/** The whole budget of one scenario — boot, SSH, setup, body and the log scan — before the lab gives up on it. */
export function hardBudgetMs(bodyMs: number, scale: number): number {
  return (baseTimeouts.bootMs + baseTimeouts.sshMs + bodyMs + logScanMs) * scale;
}

/** Reading dmesg after the body, at base (KVM) speed. */
const logScanMs = 5_000;

type Booted = Awaited<ReturnType<typeof bootGuest>>;

/** What the job's tasks leave for the verdict: how far it got, the guest, the devices. */
interface JobState {
  phase: 'boot' | 'setup' | 'scenario' | 'watchdog';
  booted?: Booted;
  devices: Partial<Record<DeviceName, GuestDevice>>;
}

export async function runJob(job: Job, opts: RunnerOptions): Promise<ScenarioResult> {
  const info = scenarioInfo(job);
  const s = job.scenario.scenario;
  const dir = join(opts.runDir, 'scenarios', job.id.replace(/[^\w.-]+/g, '_'));
  await mkdir(dir, { recursive: true });
  await opts.reporter.onEvent({ type: 'scenario-start', scenario: info });
  const t0 = Date.now();
  const steps: StepResult[] = [];
  const expect = createExpect();
  const runtimeFaults: ExpectedFault[] = [];
  const artifacts: Record<string, string> = {};
  const rel = (p: string) => relative(opts.runDir, p);
  const result = (partial: Partial<ScenarioResult> & Pick<ScenarioResult, 'status'>): ScenarioResult => ({
    scenario: info,
    ms: Date.now() - t0,
    steps,
    failures: [...expect.failures],
    observations: [...expect.observations],
    dmar: { expected: [], observed: [], unexpected: [] },
    findings: [],
    artifacts,
    ...partial,
  });
  const state: JobState = { phase: 'boot', devices: {} };
  const finish = async (r: ScenarioResult) => {
    const machine = state.booted?.machine;
    const keep = Boolean(opts.keepFailed) && r.status === 'failed' && machine !== undefined && !machine.hasExited;
    if (keep) kept.add(state.booted!);
    if (keep) r.artifacts.kept = `guest left running (pid ${machine!.pid}, ssh 127.0.0.1:${machine!.sshPort}): ./labw ssh, then ./labw clean`;
    await opts.reporter.onEvent({ type: 'scenario-end', result: r });
    return r;
  };

  const missing = missingConfig(s.options.requiresConfig, opts.kernelConfig);
  if (missing.length > 0) return finish(result({ status: 'skipped', skipReason: `the kernel under test has ${missing.join(', ')} off` }));

  const cleanup = new CleanupStack();
  // Ctrl-C unwinds this job's guest too (running it twice is harmless: the stack empties).
  processCleanup.push(`scenario ${job.id}`, () => cleanup.run().then(() => undefined));
  const scale = timeScale(opts.accel);
  // One hard deadline over everything the scenario does; an interrupt aborts it too.
  const hard = new Deadline(`scenario ${job.id}`, hardBudgetMs(s.options.timeoutMs, scale), opts.signal);
  const ctxExtras = { dir, rel, artifacts, steps, expect, runtimeFaults, scale };
  let error: unknown;
  try {
    const work = runTasks(job, opts, state, cleanup, hard.signal, ctxExtras);
    work.catch(() => {}); // it may settle after the deadline won the race
    await Promise.race([work, rejectOnAbort(hard.signal)]);
  } catch (e) {
    error = e;
  }
  try {
    if (error instanceof SkipSignal) return finish(result({ status: 'skipped', skipReason: error.reason }));
    const interrupted = opts.signal.aborted;
    const machine = state.booted?.machine;
    if (machine) {
      artifacts.serial = rel(machine.serialLog);
      artifacts['qemu-cmdline'] = rel(join(dir, 'qemu-cmdline.sh'));
      // A panicking guest takes a moment to end QEMU (panic=-1): let it, so the verdict sees it.
      for (let i = 0; i < 30 && !machine.hasExited && /Kernel panic/.test(await readSerial(machine.serialLog)); i++) await sleep(100);
    }
    const dmesg = interrupted ? null : await collectDmesg(state.booted, logScanMs * scale);
    if (dmesg !== null) {
      await writeFile(join(dir, 'dmesg.txt'), dmesg);
      artifacts.dmesg = rel(join(dir, 'dmesg.txt'));
    }
    const serial = machine ? await readSerial(machine.serialLog) : error instanceof BootError ? error.serialTail : '';
    const bdfs = Object.fromEntries(Object.entries(state.devices).map(([k, d]) => [k, d!.bdf]));
    const verdict = judgeScenario({
      phase: state.phase,
      failures: expect.failures,
      error: error === undefined ? undefined : { message: (error as Error).message, phase: error instanceof TimeoutError ? error.phase : state.phase },
      interrupted,
      dmesg,
      serial,
      qemuExit: machine?.hasExited ? qemuExitOf(machine) : undefined,
      expectedFaults: [...(s.options.expectedFaults ?? []), ...runtimeFaults],
      devices: bdfs,
    });
    if (verdict.error && verdict.status !== 'interrupted') verdict.error.serialTail = error instanceof BootError ? error.serialTail : tail(serial, 40);
    return finish(result(verdict));
  } finally {
    hard.dispose();
    await cleanup.run();
  }
}

/** Boot → devices → body, each phase recorded in state for the verdict. */
async function runTasks(
  job: Job,
  opts: RunnerOptions,
  state: JobState,
  cleanup: CleanupStack,
  signal: AbortSignal,
  x: { dir: string; rel: (p: string) => string; artifacts: Record<string, string>; steps: StepResult[]; expect: ReturnType<typeof createExpect>; runtimeFaults: ExpectedFault[]; scale: number },
): Promise<void> {
  const s = job.scenario.scenario;
  const profile = machineProfile(job.machine);
  // With keepFailed the guest is started detached (it may outlive this process) and stopped
  // by the cleanup below unless its scenario failed.
  const guest = s.options.image === 'vmm' ? await withVmmImage(opts.guest, opts.cache) : opts.guest;
  const booted = await bootGuest({ guest, profile, accel: opts.accel, dir: x.dir, cache: opts.cache, cleanup, progress: opts.progress, signal, keep: opts.keepFailed });
  state.booted = booted;
  if (opts.keepFailed) cleanup.push(`qemu ${booted.machine.id}`, async () => (keptFailed(booted) ? undefined : booted.machine.stop()));
  state.phase = 'setup';
  const addresses = deviceAddresses(profile) as Record<DeviceName, string>;
  state.devices = await bindToVfio(booted.vm, addresses, s.options.devices);
  state.phase = 'scenario';
  const ctx = scenarioContext(job, opts, booted, state.devices, signal, x);
  await withTimeout(s.body(ctx), s.options.timeoutMs * x.scale, `scenario ${job.id}`);
  state.phase = 'watchdog';
}

/** Marks a kept guest whose scenario failed, so its teardown leaves it running. */
const kept = new WeakSet<Booted>();
function keptFailed(b: Booted): boolean {
  return kept.has(b);
}

function scenarioContext(
  job: Job,
  opts: RunnerOptions,
  booted: Booted,
  devices: Partial<Record<DeviceName, GuestDevice>>,
  signal: AbortSignal,
  x: { dir: string; rel: (p: string) => string; artifacts: Record<string, string>; steps: StepResult[]; expect: ReturnType<typeof createExpect>; runtimeFaults: ExpectedFault[] },
): ScenarioContext {
  const s = job.scenario.scenario;
  const { expect, steps } = x;
  return {
    vm: booted.vm,
    probe: new Probe(booted.vm),
    // Scenarios without devices (the selftest pack) never read it.
    device: devices[s.options.devices[0] ?? 'nvme'] as GuestDevice,
    devices,
    expect,
    signal,
    kernelConfig: opts.kernelConfig,
    machine: job.machine,
    kernel: { release: opts.guest.kernel.release, selftests: opts.guest.kernel.selftests },
    expectFault: (fault) => x.runtimeFaults.push(fault),
    skip: (reason) => {
      throw new SkipSignal(reason);
    },
    attach: async (name, content) => {
      const path = join(x.dir, name);
      await writeFile(path, content);
      x.artifacts[name] = x.rel(path);
    },
    step: async (title, fn) => {
      const st = Date.now();
      const before = expect.failures.length;
      try {
        const value = await fn();
        const failed = expect.failures.length > before;
        const step: StepResult = { title, status: failed ? 'failed' : 'passed', ms: Date.now() - st, ...(failed ? { message: expect.failures.slice(before).join('\n') } : {}) };
        steps.push(step);
        await opts.reporter.onEvent({ type: 'step', scenarioId: job.id, step });
        return value;
      } catch (error) {
        const step: StepResult = { title, status: 'errored', ms: Date.now() - st, message: (error as Error).message };
        steps.push(step);
        await opts.reporter.onEvent({ type: 'step', scenarioId: job.id, step });
        throw error;
      }
    },
  };
}

/** dmesg of a guest that may be dead or hung: null rather than another long wait. */
async function collectDmesg(booted: Booted | undefined, timeoutMs: number): Promise<string | null> {
  if (!booted || booted.machine.hasExited) return null;
  try {
    const r = await booted.vm.exec('dmesg', { timeoutMs });
    return r.exitCode === 0 ? r.stdout : null;
  } catch {
    return null;
  }
}

/** How QEMU ended, in words: "QEMU exited (signal 9)". */
function qemuExitOf(machine: Booted['machine']): string {
  const described = (machine as unknown as { exitDescription?: string }).exitDescription;
  return described ?? 'QEMU exited';
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
