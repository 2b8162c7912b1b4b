// Running planned jobs: one guest per scenario, devices handed to vfio-pci, the body under a
// deadline, the kernel-log watchdog afterwards, teardown LIFO whatever happened. Emits events;
// never prints.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { bootGuest, type GuestArtifacts } from '../lab.ts';
import { timeScale } from '../qemu/accel.ts';
import type { Accel } from '../qemu/argv.ts';
import { deviceAddresses, machineProfile } from '../qemu/profile.ts';
import { readSerial, tail } from '../qemu/serial.ts';
import type { Reporter, ScenarioInfo, ScenarioResult, StepResult } from '../report/events.ts';
import { CleanupStack, processCleanup } from '../util/cleanup.ts';
import { sleep } from '../util/deadline.ts';
import { BootError, TimeoutError } from '../util/errors.ts';
import type { Progress } from '../util/progress.ts';
import { SkipSignal, type DeviceName, type ExpectedFault, type GuestDevice, type ScenarioContext } from './define.ts';
import { bindToVfio } from './devices.ts';
import { createExpect } from './expect.ts';
import type { Job } from './planner.ts';
import { Probe } from './probe.ts';
import { countFaultReports, parseDmarFaults, scanKernelLog, unexpectedFaults } from './watchdog.ts';

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
  let keep = false;
  const finish = async (r: ScenarioResult) => {
    keep = Boolean(opts.keepFailed) && r.status === 'failed' && machineRef !== undefined && !machineRef.hasExited;
    if (keep) r.artifacts.kept = `guest left running (pid ${machineRef!.pid}, ssh 127.0.0.1:${machineRef!.sshPort}): ./labw ssh, then ./labw clean`;
    await opts.reporter.onEvent({ type: 'scenario-end', result: r });
    return r;
  };

  let machineRef: Awaited<ReturnType<typeof bootGuest>>['machine'] | undefined;
  const missing = missingConfig(s.options.requiresConfig, opts.kernelConfig);
  if (missing.length > 0) return finish(result({ status: 'skipped', skipReason: `the kernel under test has ${missing.join(', ')} off` }));

  const cleanup = new CleanupStack();
  // Ctrl-C unwinds this job's guest too (running it twice is harmless: the stack empties).
  processCleanup.push(`scenario ${job.id}`, () => cleanup.run().then(() => undefined));
  const scale = timeScale(opts.accel);
  const profile = machineProfile(job.machine);
  let phase = 'boot';
  try {
    // With keepFailed the guest is started detached (it may outlive this process) and stopped
    // below unless its scenario failed.
    const booted = await bootGuest({ guest: opts.guest, profile, accel: opts.accel, dir, cache: opts.cache, cleanup, progress: opts.progress, signal: opts.signal, keep: opts.keepFailed });
    machineRef = booted.machine;
    if (opts.keepFailed) cleanup.push(`qemu ${booted.machine.id}`, async () => (keep ? undefined : booted.machine.stop()));
    artifacts.serial = rel(booted.machine.serialLog);
    artifacts['qemu-cmdline'] = rel(join(dir, 'qemu-cmdline.sh'));
    phase = 'setup';
    const addresses = deviceAddresses(profile) as Record<DeviceName, string>;
    const devices = await bindToVfio(booted.vm, addresses, s.options.devices);
    phase = 'scenario';
    const ctx: ScenarioContext = {
      vm: booted.vm,
      probe: new Probe(booted.vm),
      // Scenarios without devices (the selftest pack) never read it.
      device: devices[s.options.devices[0] ?? 'nvme'] as GuestDevice,
      devices,
      expect,
      signal: opts.signal,
      kernelConfig: opts.kernelConfig,
      machine: job.machine,
      kernel: { release: opts.guest.kernel.release, selftests: opts.guest.kernel.selftests },
      expectFault: (fault) => runtimeFaults.push(fault),
      skip: (reason) => {
        throw new SkipSignal(reason);
      },
      attach: async (name, content) => {
        const path = join(dir, name);
        await writeFile(path, content);
        artifacts[name] = rel(path);
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
    await withTimeout(s.body(ctx), s.options.timeoutMs * scale, `scenario ${job.id}`);
    phase = 'watchdog';
    const dmesg = await booted.vm.dmesg();
    await writeFile(join(dir, 'dmesg.txt'), dmesg);
    artifacts.dmesg = rel(join(dir, 'dmesg.txt'));
    const serial = await readSerial(booted.machine.serialLog);
    return finish(judge(result({ status: 'passed' }), dmesg, serial, [...(s.options.expectedFaults ?? []), ...runtimeFaults], devices));
  } catch (error) {
    if (error instanceof SkipSignal) return finish(result({ status: 'skipped', skipReason: error.reason }));
    // A panicking guest takes a moment to end QEMU (panic=-1): let it, so the verdict sees it.
    for (let i = 0; i < 30 && machineRef && !machineRef.hasExited && /Kernel panic/.test(await readSerial(machineRef.serialLog)); i++) await sleep(100);
    const serial = machineRef ? await readSerial(machineRef.serialLog) : '';
    const findings = scanKernelLog(serial);
    // The guest kernel died under the scenario: that is the kernel under test failing, not the lab.
    if (machineRef?.hasExited && phase !== 'boot' && findings.length > 0) {
      return finish(result({ status: 'failed', failures: [...expect.failures, `the guest kernel died during ${phase}: ${findings[0]!.line}`], findings, error: { phase, message: (error as Error).message, serialTail: tail(serial, 40) } }));
    }
    const serialTail = error instanceof BootError ? error.serialTail : serial ? tail(serial, 40) : undefined;
    return finish(result({ status: 'errored', error: { phase: error instanceof TimeoutError ? error.phase : phase, message: (error as Error).message, serialTail } }));
  } finally {
    await cleanup.run();
  }
}

/** The verdict after the body: expectations, then the kernel log and the DMAR faults. Pure. */
function judge(base: ScenarioResult, dmesg: string, serial: string, expected: ExpectedFault[], devices: Partial<Record<DeviceName, GuestDevice>>): ScenarioResult {
  // scanKernelLog reports a line once, so the same oops on dmesg and the serial console counts once.
  const findings = scanKernelLog(`${dmesg}\n${serial}`);
  const observed = parseDmarFaults(dmesg);
  const bdfs = Object.fromEntries(Object.entries(devices).map(([k, d]) => [k, d!.bdf]));
  const unexpected = unexpectedFaults(observed, expected, bdfs);
  const failures = [...base.failures];
  for (const f of findings) failures.push(`kernel log: ${f.kind}: ${f.line}`);
  for (const f of unexpected) failures.push(`undeclared DMAR fault: ${f.access} by ${f.device} at ${f.address} (${f.reason})`);
  const reports = countFaultReports(dmesg);
  if (expected.length === 0 && reports > 0 && observed.length === 0) failures.push(`the IOMMU reported ${reports} fault(s) (details rate-limited)`);
  const dmar = { expected: expected.map((e) => ({ device: String(e.device ?? '*'), access: e.access ?? ('*' as 'read'), address: e.address ?? '*', reason: String(e.reason ?? '*') })), observed, unexpected };
  return { ...base, status: failures.length > 0 ? 'failed' : 'passed', failures, findings, dmar };
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

