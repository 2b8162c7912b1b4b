// The kernel-log watchdog: after each scenario, the guest's dmesg and serial log are scanned
// for signs that the kernel itself went wrong, and DMAR faults are parsed and matched against
// the faults the scenario declared. Pure: text in, findings out.
import type { DmarFault, KernelFinding } from '../report/events.ts';
import type { ExpectedFault } from './define.ts';

const patterns: [kind: string, re: RegExp][] = [
  ['panic', /Kernel panic - not syncing/],
  ['KASAN', /BUG: KASAN:/],
  ['oops', /Oops: |BUG: unable to handle|general protection fault/],
  ['soft-lockup', /BUG: soft lockup|watchdog: BUG:/],
  ['BUG', /kernel BUG at|\bBUG: /],
  ['WARN', /WARNING: CPU: \d+ PID: \d+ at |------------\[ cut here \]------------/],
  ['lockdep', /possible circular locking dependency|possible recursive locking|inconsistent lock state|suspicious RCU usage/],
  ['rcu-stall', /rcu: INFO: .*detected stalls|self-detected stall on CPU/],
  ['hung-task', /INFO: task .* blocked for more than \d+ seconds/],
];

/** Strips "[    1.234567] " timestamps so the same line from dmesg and serial compares equal. */
export function stripTimestamp(line: string): string {
  return line.replace(/^\[\s*\d+\.\d+\]\s?/, '');
}

export function scanKernelLog(text: string): KernelFinding[] {
  const lines = text.split('\n').map(stripTimestamp);
  const findings: KernelFinding[] = [];
  const seen = new Set<string>();
  lines.forEach((line, i) => {
    for (const [kind, re] of patterns) {
      if (!re.test(line)) continue;
      // A WARN's "cut here" banner and its "WARNING:" line are one finding.
      if (kind === 'WARN' && /cut here/.test(line) && /WARNING: CPU/.test(lines[i + 1] ?? '')) break;
      const key = `${kind}:${line.trim()}`;
      if (!seen.has(key)) {
        seen.add(key);
        findings.push({ kind, line: line.trim(), excerpt: lines.slice(i, i + 12).join('\n') });
      }
      break;
    }
  });
  return findings;
}

const faultLine = /DMAR: \[DMA (Read|Write)(?: NO_PASID)?\] Request device \[([0-9a-f]{2}:[0-9a-f]{2}\.[0-7])\] (?:PASID \w+ )?fault addr (0x[0-9a-f]+) \[fault reason (0x[0-9a-f]+)\] ?(.*)$/;

export function parseDmarFaults(text: string): DmarFault[] {
  const faults: DmarFault[] = [];
  for (const raw of text.split('\n')) {
    const m = faultLine.exec(stripTimestamp(raw));
    if (m) faults.push({ access: m[1]!.toLowerCase() as 'read' | 'write', device: m[2]!, address: m[3]!, reason: `${m[4]} ${m[5]!.trim()}`.trim() });
  }
  return faults;
}

/** "DRHD: handling fault status reg" lines: counted even when the detail lines are rate-limited. */
export function countFaultReports(text: string): number {
  return text.split('\n').filter((l) => /DMAR: DRHD: handling fault status reg/.test(l)).length;
}

/** "0000:00:03.0" → "00:03.0", the form the DMAR messages use. */
export function shortBdf(bdf: string): string {
  return bdf.replace(/^[0-9a-f]{4}:/, '');
}

export function faultMatches(fault: DmarFault, expected: ExpectedFault, devices: Record<string, string>): boolean {
  if (expected.device !== undefined) {
    const bdf = devices[expected.device] ?? expected.device;
    if (shortBdf(bdf) !== fault.device) return false;
  }
  if (expected.access !== undefined && expected.access !== fault.access) return false;
  if (expected.address !== undefined && BigInt(expected.address) !== BigInt(fault.address)) return false;
  if (expected.reason !== undefined) {
    const ok = typeof expected.reason === 'string' ? fault.reason.includes(expected.reason) : expected.reason.test(fault.reason);
    if (!ok) return false;
  }
  return true;
}

/** Observed faults that no declared fault accounts for. */
export function unexpectedFaults(observed: DmarFault[], expected: ExpectedFault[], devices: Record<string, string>): DmarFault[] {
  return observed.filter((f) => !expected.some((e) => faultMatches(f, e, devices)));
}
