// The host side of the guest probe: runs `vfio-probe` over SSH, validates its JSON against the
// schema of each op (probe-schema.ts) and hands scenarios their results by label.
import type { Vm } from '../guest/vm.ts';
import { LabError } from '../util/errors.ts';
import { quoteArgv } from '../util/quote.ts';
import {
  infoSchema,
  parkedReportSchema,
  parseProbeOutput,
  parseStep,
  ProbeOutputError,
  runSchema,
  type OpName,
  type Outcome,
  type ParkedReport,
  type ProbeInfo,
} from './probe-schema.ts';

/**
 * One item of a script: a step in the probe's language (`'bind d i'`, see
 * guest-images/probe/README.md), or labelled steps (`{ bind: 'bind d i' }`) whose results the
 * run returns under their labels. Unlabelled steps are for setup nobody looks at.
 */
export type ScriptItem = string | { readonly [label: string]: string };

type OpOf<S extends string> = S extends `${infer Op} ${string}` ? Op : S;

/** Any step's outcome; narrow it by `op`. */
export type AnyOutcome = Outcome<OpName>;

/**
 * The outcome type of a step text, from its first word: `'nvme-identify d 0x200000'` gives
 * Outcome<'nvme-identify'>. A text built at run time (type string) gives AnyOutcome; a literal
 * op the probe does not have gives never, so using its result does not compile.
 */
export type OutcomeOf<S extends string> = string extends OpOf<S> ? AnyOutcome : OpOf<S> extends OpName ? Outcome<OpOf<S>> : never;

type LabelsOf<I> = I extends string ? never : { -readonly [K in keyof I]: I[K] extends string ? OutcomeOf<I[K]> : never };
type Intersect<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type Flat<T> = { [K in keyof T]: T[K] };

/** What `probe.run(...)` returns: each labelled step's outcome under its label. */
export type StepResults<S extends readonly ScriptItem[]> = Flat<Intersect<LabelsOf<S[number]>>>;

export interface ProbeOptions {
  /**
   * Multiplies every in-guest timeout (`--time-scale`), as the host scales its deadlines under
   * TCG. Whole numbers; @default 1
   */
  timeScale?: number;
  /** Told of every probe command and what it printed (the runner keeps them as an artifact). */
  record?: (run: ProbeRun) => void;
}

/** One probe command as it ran in the guest. */
export interface ProbeRun {
  command: string;
  exitCode: number;
  ms: number;
  stdout: string;
  stderr: string;
}

// A label becomes a property (`r.detach`): an identifier, never integer-like, because integer
// keys would be reordered and read like the positions labels replace.
const labelPattern = /^[A-Za-z_$][\w$]*$/;

interface PlannedStep {
  text: string;
  label: string | undefined;
}

function plan(script: readonly ScriptItem[]): PlannedStep[] {
  const steps: PlannedStep[] = [];
  const seen = new Set<string>();
  for (const item of script) {
    if (typeof item === 'string') {
      steps.push({ text: item, label: undefined });
      continue;
    }
    for (const [label, text] of Object.entries(item)) {
      if (!labelPattern.test(label)) throw new LabError(`probe step label "${label}": use an identifier (letters, digits, _), not starting with a digit`);
      if (seen.has(label)) throw new LabError(`probe step label "${label}" is used twice in one run`);
      seen.add(label);
      steps.push({ text, label });
    }
  }
  return steps;
}

/** The argv of `vfio-probe run`, for a guest script that runs it itself (the reset does). */
export function probeArgv(timeScale: number, command: string, args: readonly string[] = []): string[] {
  return ['vfio-probe', '--time-scale', String(Math.max(1, Math.ceil(timeScale))), command, ...args];
}

/**
 * Reads what one `vfio-probe run` of `script` printed (the parsed JSON): each step is checked
 * against its op's schema and the labelled ones are returned under their labels.
 */
export function readRun<const S extends readonly ScriptItem[]>(script: S, value: unknown): StepResults<S> {
  const steps = plan(script);
  const out = parseProbeOutput(runSchema, value, 'run');
  if (out.steps.length !== steps.length) throw new ProbeOutputError('run', ['steps'], `${out.steps.length} step results for ${steps.length} steps`);
  const results: Record<string, AnyOutcome> = {};
  steps.forEach((s, i) => {
    const what = `run step ${i + 1} "${s.text}"${s.label ? ` (${s.label})` : ''}`;
    const outcome = parseStep(out.steps[i], what);
    const sent = s.text.trim().split(/\s+/)[0];
    if (outcome.op !== sent) throw new ProbeOutputError(what, ['op'], `field "op": "${outcome.op}" for a "${sent}" step`);
    if (s.label) results[s.label] = outcome;
  });
  return results as StepResults<S>;
}

/** The texts of a script's steps, in order, as `vfio-probe run` takes them. */
export function stepTexts(script: readonly ScriptItem[]): string[] {
  return plan(script).map((s) => s.text);
}

export class Probe {
  private readonly timeScale: number;
  private readonly record?: (run: ProbeRun) => void;

  constructor(
    private readonly vm: Vm,
    options: ProbeOptions = {},
  ) {
    this.timeScale = Math.max(1, Math.ceil(options.timeScale ?? 1));
    this.record = options.record;
  }

  /** Runs a probe command and parses its JSON output (unvalidated). */
  private async json(command: string, args: string[] = []): Promise<unknown> {
    const line = quoteArgv(probeArgv(this.timeScale, command, args));
    const r = await this.vm.exec(line);
    this.record?.({ command: line, exitCode: r.exitCode, ms: r.ms, stdout: r.stdout, stderr: r.stderr });
    if (r.exitCode !== 0) throw new LabError(`guest probe failed (exit ${r.exitCode}): ${line}\n${r.stderr.trim() || r.stdout.trim()}`);
    try {
      return JSON.parse(r.stdout) as unknown;
    } catch (error) {
      throw new LabError(`guest probe printed invalid JSON for ${line}: ${r.stdout.slice(0, 300)}`, { cause: error });
    }
  }

  /**
   * Runs a step script in one probe process (handles live across its steps) and returns the
   * labelled steps' outcomes: `const r = await probe.run(...bound(cdev), { detach: 'detach d' })`
   * gives `r.detach.errname`. Every step's output is checked against its op's schema.
   */
  async run<const S extends readonly ScriptItem[]>(...script: S): Promise<StepResults<S>> {
    return readRun(script, await this.json('run', stepTexts(script)));
  }

  /** `vfio-probe parked PATH`: open, the parked sweep, close. */
  async parked(path: string): Promise<ParkedReport> {
    return parseProbeOutput(parkedReportSchema, await this.json('parked', [path]), `parked ${path}`);
  }

  /** `vfio-probe info`: the PCI devices the guest sees. */
  async info(): Promise<ProbeInfo> {
    return parseProbeOutput(infoSchema, await this.json('info'), 'info');
  }
}
