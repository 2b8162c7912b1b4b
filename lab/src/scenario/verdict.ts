// The verdict after a scenario, whatever happened to it: one pure function of what the runner
// observed (expectations, the error that ended the body if any, the guest's dmesg and serial
// console, QEMU's fate). The kernel log is always judged: an oops, BUG, WARN, panic, KASAN,
// lockdep report, stall or hung task fails the scenario even when the probe died or QEMU is gone.
import type { DmarFault, KernelFinding, ScenarioResult, Status } from '../report/events.ts';
import type { ExpectedFault } from './define.ts';
import { countFaultReports, parseDmarFaults, scanKernelLog, stripTimestamp, unexpectedFaults } from './watchdog.ts';

export interface Observed {
  /** Where the scenario was when it ended: boot, setup, scenario (the body) or watchdog. */
  phase: string;
  /** Expectations that did not hold. */
  failures: readonly string[];
  /** What ended the scenario early, if anything. */
  error?: { message: string; phase?: string };
  /** The run was interrupted (Ctrl-C, SIGTERM) while this scenario ran. */
  interrupted?: boolean;
  /** The guest's dmesg, or null when it could not be read (guest dead or not answering). */
  dmesg: string | null;
  serial: string;
  /** QEMU's end, if it ended before the lab stopped it: "QEMU exited (signal 9)". */
  qemuExit?: string;
  expectedFaults: readonly ExpectedFault[];
  /** Device name → BDF, for matching declared faults. */
  devices: Readonly<Record<string, string>>;
}

export type Verdict = Pick<ScenarioResult, 'status' | 'failures' | 'findings' | 'dmar' | 'error'>;

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
  if (/no answer|did not answer|within [\d.]+ s/.test(message) && !/last console line/.test(message)) {
    const last = lastConsoleLine(o.serial);
    return `${message}${last ? `; last console line: ${last}` : ''}`;
  }
  return message;
}

function article(kind: string): string {
  return /^[aeiou]/i.test(kind) ? 'an' : 'a';
}

export function judgeScenario(o: Observed): Verdict {
  // One report seen on dmesg and on the console counts once (scanKernelLog dedupes by line).
  const findings = scanKernelLog(`${o.dmesg ?? ''}\n${o.serial}`);
  // The serial console carries the DMAR lines too when dmesg could not be read.
  const faultSource = o.dmesg ?? o.serial;
  const observed = parseDmarFaults(faultSource);
  const unexpected = unexpectedFaults(observed, [...o.expectedFaults], o.devices);
  const dmar = {
    expected: o.expectedFaults.map((e) => ({ device: String(e.device ?? '*'), access: e.access ?? ('*' as DmarFault['access']), address: e.address ?? '*', reason: String(e.reason ?? '*') })),
    observed,
    unexpected,
  };
  const error = o.error ? { phase: o.error.phase ?? o.phase, message: describeError(o, findings) } : undefined;
  if (o.interrupted) return { status: 'interrupted', failures: [...o.failures], findings, dmar, error: { phase: o.phase, message: 'interrupted before the scenario finished: no verdict' } };

  const failures = [...o.failures];
  for (const f of findings) failures.push(`kernel log: ${f.title} (${f.line})`);
  if (findings.length > 0 && error) failures.unshift(error.message);
  // Faults are judged only when the body ran to the end: a scenario cut short may not have
  // declared the faults it was about to expect.
  if (!o.error) {
    for (const f of unexpected) failures.push(`undeclared DMAR fault: ${f.access} by ${f.device} at ${f.address} (${f.reason})`);
    const reports = countFaultReports(faultSource);
    if (o.expectedFaults.length === 0 && reports > 0 && observed.length === 0) failures.push(`the IOMMU reported ${reports} fault(s) (details rate-limited)`);
  }
  let status: Status;
  if (findings.length > 0) status = 'failed';
  else if (error) status = 'errored';
  else status = failures.length > 0 ? 'failed' : 'passed';
  return { status, failures: status === 'errored' ? [...o.failures] : failures, findings, dmar, ...(error ? { error } : {}) };
}
