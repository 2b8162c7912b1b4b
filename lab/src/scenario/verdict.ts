// The verdict after a scenario, whatever happened to it: one pure function of what the runner
// observed (expectations, the error that ended the body if any, the guest's dmesg and serial
// console, QEMU's fate). The kernel log is always judged: an oops, BUG, WARN, panic, KASAN,
// lockdep report, stall or hung task fails the scenario even when the probe died or QEMU is gone.
import type { DmarFault, KernelFinding, ScenarioResult, Status } from '../report/events.ts';
import type { ExpectedFault } from './define.ts';
import { countFaultReports, missingFaults, parseDmarFaults, scanKernelLog, stripTimestamp, unexpectedFaults } from './watchdog.ts';

export interface Observed {
  /** Where the scenario was when it ended: boot, setup, scenario (the body) or watchdog. */
  phase: string;
  /** Expectations that did not hold. */
  failures: readonly string[];
  /** What ended the scenario early, if anything. */
  error?: { message: string; phase?: string };
  /** The run was interrupted (Ctrl-C, SIGTERM) while this scenario ran. */
  interrupted?: boolean;
  /**
   * The body skipped itself, for this reason. Its window is judged as any body's: a kernel
   * report, an unexpected DMAR fault or a guest lost there fails it; otherwise it is skipped.
   */
  skipped?: string;
  /** The guest's dmesg, or null when it could not be read (guest dead or not answering). */
  dmesg: string | null;
  serial: string;
  /** QEMU's end, if it ended before the lab stopped it: "QEMU exited (signal 9)". */
  qemuExit?: string;
  expectedFaults: readonly ExpectedFault[];
  /** Device name → BDF, for matching declared faults. */
  devices: Readonly<Record<string, string>>;
}

export type Verdict = Pick<ScenarioResult, 'status' | 'failures' | 'findings' | 'dmar' | 'error' | 'skipReason'>;

const signals: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 4: 'SIGILL', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 15: 'SIGTERM' };

/** "guest probe failed (exit 137)" → probe, SIGKILL: a shell reports a child killed by signal N as 128+N. */
export function killedBy(message: string): { who: 'probe' | 'guest command'; signal: string } | undefined {
  const m = /guest (probe|command) failed \(exit (\d+)\)/.exec(message);
  const code = m ? Number(m[2]) : NaN;
  if (!(code > 128 && code < 160)) return undefined;
  return { who: m![1] === 'probe' ? 'probe' : 'guest command', signal: signals[code - 128] ?? `signal ${code - 128}` };
}

/** The last line the guest printed on its console, for "no answer" messages. */
export function lastConsoleLine(serial: string): string | undefined {
  const lines = serial.split('\n').map(stripTimestamp).map((l) => l.trim()).filter(Boolean);
  return lines.at(-1);
}

/** Why the scenario ended early, in words a kernel developer acts on. */
function describeError(o: Observed, findings: readonly KernelFinding[]): string {
  const message = o.error?.message ?? '';
  const first = findings[0];
  const killed = killedBy(message);
  if (killed) return `${killed.who} killed by ${killed.signal}${first ? ` after ${article(first.kind)} ${first.kind} in the kernel: ${first.title}` : ''}`;
  if (o.qemuExit) return `${o.qemuExit} during ${o.phase}${first ? ` after ${first.title}` : ''}`;
  if (/no answer|did not answer|within [\d.]+ s/.test(message) && !/last console line/.test(message)) return withConsoleLine(message, o.serial);
  return message;
}

/** A "no answer" message with the last line the guest printed, where it printed one. */
function withConsoleLine(message: string, serial: string): string {
  const last = lastConsoleLine(serial);
  return `${message}${last ? `; last console line: ${last}` : ''}`;
}

function article(kind: string): string {
  return /^[aeiou]/i.test(kind) ? 'an' : 'a';
}

/**
 * Why the kernel log after a body that ended normally is missing: a guest that stopped answering
 * or a QEMU that ended after the body. Without that log nothing after the body was checked, so it
 * can never pass (a body that waited on the host side returns without noticing a hung guest).
 */
function lostAfterBody(o: Observed): string | undefined {
  if (o.error || o.interrupted) return undefined;
  if (o.qemuExit) return withConsoleLine(`${o.qemuExit} after the body: its kernel log could not be read`, o.serial);
  if (o.dmesg === null) return withConsoleLine('guest stopped answering after the body: its kernel log could not be read', o.serial);
  return undefined;
}

/** A declared fault as the report shows it. */
function declared(e: ExpectedFault): DmarFault {
  return { device: e.device, access: e.access, address: e.address, reason: String(e.reason ?? '*') };
}

function describeExpected(e: ExpectedFault): string {
  return `DMA was expected to fault at IOVA ${e.address} (${e.access} by ${e.device}) and did not`;
}

export function judgeScenario(o: Observed): Verdict {
  // One report seen on dmesg and on the console counts once (scanKernelLog dedupes by line).
  const findings = scanKernelLog(`${o.dmesg ?? ''}\n${o.serial}`);
  // The serial console carries the DMAR lines too when dmesg could not be read.
  const faultSource = o.dmesg ?? o.serial;
  const observed = parseDmarFaults(faultSource);
  const unexpected = unexpectedFaults(observed, o.expectedFaults, o.devices);
  const dmar = {
    expected: o.expectedFaults.map(declared),
    observed,
    unexpected,
    // Judged only for a body that ran to the end and whose log was read (below).
    missing: [] as DmarFault[],
  };
  const lost = lostAfterBody(o);
  const error = o.error ? { phase: o.error.phase ?? o.phase, message: describeError(o, findings) } : lost ? { phase: 'watchdog', message: lost } : undefined;
  if (o.interrupted) return { status: 'interrupted', failures: [...o.failures], findings, dmar, error: { phase: o.phase, message: 'interrupted before the scenario finished: no verdict' } };

  const failures = [...o.failures];
  let uncheckable: string | undefined;
  for (const f of findings) failures.push(`kernel log: ${f.title} (${f.line})`);
  // Faults are judged only when the body ran to the end and its log was read: a scenario cut
  // short may not have declared the faults it was about to expect.
  if (!error) {
    for (const f of unexpected) failures.push(`undeclared DMAR fault: ${f.access} by ${f.device} at ${f.address} (${f.reason})`);
    const reports = countFaultReports(faultSource);
    // A body that skipped itself did not get to the DMA its declared faults are about.
    const missing = o.skipped === undefined ? missingFaults(observed, o.expectedFaults, o.devices) : [];
    dmar.missing = missing.map(declared);
    // The kernel rate-limits the detail lines (10 calls per 5 s, 3 a fault): a fault whose status
    // line came without its record cannot be told apart from a missing one. That is not a pass,
    // and not the kernel's failure either: the scenario faulted too often to be checked.
    const dropped = reports - observed.length;
    if (missing.length > 0 && dropped >= missing.length) uncheckable = `${missing.map(describeExpected).join('; ')}: ${dropped} fault report(s) lost their details to the kernel's DMAR rate limit, so this cannot be checked (space the faults out: at most 3 per 5 s)`;
    else for (const e of missing) failures.push(describeExpected(e));
    if (o.expectedFaults.length === 0 && reports > 0 && observed.length === 0) failures.push(`the IOMMU reported ${reports} fault(s) (details rate-limited)`);
  }
  // A failed expectation stays a failure when the body then threw, or the guest was lost after
  // it: the report names both. Only an error with nothing failed before it is "errored".
  const failed = findings.length > 0 || o.failures.length > 0 || lost !== undefined;
  if (failed && error) failures.unshift(error.message);
  // A declared fault that could not be checked ends an otherwise clean scenario as errored.
  const ended = error ?? (failures.length === 0 && uncheckable ? { phase: 'watchdog', message: uncheckable } : undefined);
  const status: Status = failed || (!error && failures.length > 0) ? 'failed' : ended ? 'errored' : o.skipped !== undefined ? 'skipped' : 'passed';
  const skip = status === 'skipped' ? { skipReason: o.skipped } : status === 'failed' && o.skipped !== undefined ? { failures: [...failures, `(the scenario skipped itself: ${o.skipped})`] } : {};
  return { status, failures: status === 'errored' ? [...o.failures] : failures, findings, dmar, ...(ended ? { error: ended } : {}), ...skip };
}
