// The one event stream every reporter consumes. The runner emits; reporters only print/write.
// Nothing here may depend on the rest of the lab: reporters see plain data.

/** interrupted: the run was stopped (Ctrl-C, SIGTERM) while this scenario ran; it has no verdict. */
/** Every status a result can have, in the order summaries count them. */
export const statuses = ['passed', 'failed', 'errored', 'skipped', 'interrupted'] as const;
export type Status = (typeof statuses)[number];

export interface Concern {
  /** The review concern the scenario encodes, in one sentence. */
  text: string;
  /** Where it comes from: a message-id, a commit subject, a URL. */
  ref: string;
}

export interface ScenarioInfo {
  /** Stable id: "<area>/<name>" (+ "@<variant>" when a scenario runs on several machines). */
  id: string;
  name: string;
  file: string;
  area: string;
  tags: string[];
  devices: string[];
  machine: string;
  flavour: string;
  concern: Concern;
}

export interface StepResult {
  title: string;
  status: 'passed' | 'failed' | 'errored';
  ms: number;
  message?: string;
}

/** One syscall the probe made, with what the scenario expected of it. */
export interface Observation {
  op: string;
  expected: string; // e.g. "EINVAL", "ok"
  observed: string; // e.g. "EINVAL", "ok (ret 0)"
  ok: boolean;
}

export interface DmarFault {
  device: string; // "00:03.0"
  access: 'read' | 'write';
  address: string; // "0x20000000"
  reason: string; // "0x05 PTE Write access is not set"
}

export interface KernelFinding {
  kind: string; // "oops", "WARN", "BUG", "KASAN", "lockdep", "rcu-stall", "hung-task", "panic"
  /** Normalised crash title (kind + function, no addresses or PIDs): equal for the same crash anywhere. */
  title: string;
  line: string;
  excerpt: string;
}

/** How long one phase of a scenario took: boot (absent for a reused guest), setup, body, verdict. */
export interface PhaseTiming {
  phase: 'boot' | 'setup' | 'scenario' | 'verdict';
  ms: number;
}

export interface ScenarioResult {
  scenario: ScenarioInfo;
  status: Status;
  ms: number;
  /** Where the time went, in order (an attempt that ended early has the phases it reached). */
  phases?: PhaseTiming[];
  steps: StepResult[];
  /** Expectations that did not hold (status failed). */
  failures: string[];
  /** Why the lab could not run it (status errored): the phase and the message. */
  error?: { phase: string; message: string; serialTail?: string };
  skipReason?: string;
  observations: Observation[];
  /** `missing`: declared faults that never came (absent in older reports). */
  dmar: { expected: DmarFault[]; observed: DmarFault[]; unexpected: DmarFault[]; missing?: DmarFault[] };
  findings: KernelFinding[];
  /** Artifact name → path relative to the run directory. */
  artifacts: Record<string, string>;
  /** How the result was reached, where that is not the usual way (e.g. re-run in a fresh guest, and why). */
  notes?: string[];
  /**
   * Failed in a guest an earlier scenario used, and passed when re-run in a fresh one ("fails in a
   * reused guest, passes fresh"): failed, but not reproduced. Teeth counts it flaky, never caught.
   */
  reusedOnly?: true;
}

/**
 * Kernel reports or DMAR faults in a guest's console log outside every scenario's part: between
 * two scenarios in a reused guest, after the last one, in a guest booted ahead and never used.
 * No scenario's verdict covers them; each fails the run.
 */
export interface GuestLogFinding {
  /** "between cdev/a and cdev/b", "after cdev/b (its guest stopped)", "in a guest booted ahead for cdev/c, never used" */
  where: string;
  findings: KernelFinding[];
  /** Every DMAR fault there is unexpected: no scenario was running to declare it. */
  dmar: DmarFault[];
  /** That part of the console log, relative to the run directory. */
  log: string;
}

export interface RunInfo {
  runId: string;
  runDir: string;
  startedAt: string;
  labVersion: string;
  kernel: { release: string; key: string; base: string; patches: { index: number; subject: string }[] } | null;
  accel: string;
  /** The QEMU that ran the guests: what --qemu named (7.2, 10) and the first line of its --version. Absent in older reports. */
  qemu?: { target: string; version: string };
  total: number;
  /** Present when the run was one shard of a plan (--shard I/N); `planned` counts the whole plan's jobs. */
  shard?: ShardOf;
  /** Present on a merged run (report merge): each shard's own run, total and counts, as it reported them. */
  shards?: ShardSummary[];
}

export interface ShardOf {
  index: number;
  count: number;
  planned: number;
}

export interface ShardSummary {
  runId: string;
  /** Which shard it was; absent for a report that names none (run without --shard, or older). */
  shard?: ShardOf;
  total: number;
  summary: Summary;
}

export interface Summary {
  passed: number;
  failed: number;
  errored: number;
  skipped: number;
  interrupted: number;
  /** Findings in the kernel log outside every scenario (GuestLogFinding); absent in older reports. */
  outside?: number;
  /**
   * Scenarios (ids without the machine) skipped on every machine the run gave them: their
   * contract was not checked at all. Absent when there are none, and in older reports.
   */
  notJudged?: string[];
  ms: number;
}

export type RunEvent =
  | { type: 'run-start'; run: RunInfo }
  | { type: 'scenario-start'; scenario: ScenarioInfo }
  | { type: 'step'; scenarioId: string; step: StepResult }
  | { type: 'scenario-end'; result: ScenarioResult }
  | { type: 'guest-log'; finding: GuestLogFinding }
  /** A teardown step that failed (a QEMU that would not stop): reported, never dropped; no verdict changes. */
  | { type: 'teardown'; where: string; error: string }
  | { type: 'run-end'; run: RunInfo; summary: Summary; results: ScenarioResult[]; guestLogs?: GuestLogFinding[] };

export interface Reporter {
  readonly name: string;
  onEvent(event: RunEvent): void | Promise<void>;
  /** Flushes files; called once after run-end. */
  close?(): void | Promise<void>;
}

export function summarize(results: ScenarioResult[], ms: number, guestLogs: readonly GuestLogFinding[] = []): Summary {
  const count = (s: Status) => results.filter((r) => r.status === s).length;
  const unjudged = notJudged(results);
  return {
    passed: count('passed'),
    failed: count('failed'),
    errored: count('errored'),
    skipped: count('skipped'),
    interrupted: count('interrupted'),
    ...(guestLogs.length ? { outside: guestLogs.length } : {}),
    ...(unjudged.length ? { notJudged: unjudged } : {}),
    ms,
  };
}

/** "cdev/shared-group" from "cdev/shared-group@shared-slot": the scenario, whichever machine ran it. */
export function scenarioOf(id: string): string {
  return id.split('@')[0]!;
}

/**
 * The scenarios whose every variant skipped itself: a skip on one machine is fine when another
 * machine ran the contract ("no shared group here" on default, run on shared-slot), but a
 * contract skipped everywhere was not checked, and the run must not read as if it had been.
 */
export function notJudged(results: readonly ScenarioResult[]): string[] {
  const statuses = new Map<string, Status[]>();
  for (const r of results) {
    const id = scenarioOf(r.scenario.id);
    statuses.set(id, [...(statuses.get(id) ?? []), r.status]);
  }
  return [...statuses].filter(([, s]) => s.every((x) => x === 'skipped')).map(([id]) => id);
}
