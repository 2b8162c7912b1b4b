// The body stage of an attempt: the devices handed to vfio-pci, then the scenario's body under
// its own timeout, with the context it is given (vm, probe, expect, step, defer …). Everything
// the body records goes into the attempt's AttemptRecord; once its scope closes (the body
// returned, threw or was cut off) every call of the context is refused and nothing more lands.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deviceAddresses, machineProfile } from '../qemu/profile.ts';
import type { PhaseTiming, StepResult } from '../report/events.ts';
import { CleanupStack } from '../util/cleanup.ts';
import { sleep } from '../util/deadline.ts';
import { TimeoutError } from '../util/errors.ts';
import { checkExpectedFault, SkipSignal, type DeviceName, type ExpectedFault, type GuestDevice, type ScenarioContext } from './define.ts';
import { bindToVfio } from './devices.ts';
import type { createExpect } from './expect.ts';
import type { Booted, RunnerOptions } from './guest-pool.ts';
import type { Job } from './planner.ts';
import { Probe, type ProbeRun } from './probe.ts';
import type { Scope } from './scope.ts';

/** What one attempt's body records: its directory, steps, expectations, faults it declared, artifacts. */
export interface AttemptRecord {
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

/** How far an attempt got, the guest it runs in, the devices: what the verdict needs of the stages before it. */
export interface JobState {
  phase: 'boot' | 'setup' | 'scenario' | 'watchdog';
  booted?: Booted;
  devices: Partial<Record<DeviceName, GuestDevice>>;
  /** When each phase began (Date.now()), in order: the result's phase timings. */
  began: { phase: PhaseTiming['phase']; at: number }[];
}

export function enter(state: JobState, phase: JobState['phase']): void {
  state.phase = phase;
  state.began.push({ phase: phase === 'watchdog' ? 'verdict' : phase, at: Date.now() });
}

/** Each phase's duration: until the next began, the last until now. */
export function phaseTimings(began: JobState['began'], now: number): PhaseTiming[] {
  return began.map((b, i) => ({ phase: b.phase, ms: (began[i + 1]?.at ?? now) - b.at }));
}

/** Setup (pacing, devices to vfio-pci) → body (its teardowns included, under its own timeout), each phase recorded in state. */
export async function runBody(job: Job, opts: RunnerOptions, state: JobState, signal: AbortSignal, x: AttemptRecord, marker?: string, paceMs = 0): Promise<void> {
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

function scenarioContext(
  job: Job,
  opts: RunnerOptions,
  booted: Booted,
  devices: Partial<Record<DeviceName, GuestDevice>>,
  signal: AbortSignal,
  x: AttemptRecord,
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
