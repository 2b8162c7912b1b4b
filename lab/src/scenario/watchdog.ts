// The kernel-log watchdog: after each scenario, the guest's dmesg and serial log are scanned
// for signs that the kernel itself went wrong, and DMAR faults are parsed and matched against
// the faults the scenario declared. Pure: text in, findings out.
import type { DmarFault, KernelFinding } from '../report/events.ts';
import type { ExpectedFault } from './define.ts';
import { crashTitle } from './fingerprint.ts';

const patterns: [kind: string, re: RegExp][] = [
  ['panic', /Kernel panic - not syncing/],
  ['KASAN', /BUG: KASAN:/],
  ['KFENCE', /BUG: KFENCE:/],
  // DEBUG_LIST's report; with BUG_ON_DATA_CORRUPTION the "kernel BUG at lib/list_debug.c" after it is its continuation.
  ['list-corruption', /\blist_(?:add|del) corruption\b/],
  ['UBSAN', /UBSAN: /],
  // Before BUG: a NULL dereference announces itself as "BUG:" but is an oops.
  ['oops', /Oops: |BUG: unable to handle|BUG: kernel NULL pointer dereference|general protection fault/],
  ['soft-lockup', /BUG: soft lockup|watchdog: BUG:/],
  ['BUG', /kernel BUG at|\bBUG: /],
  ['WARN', /WARNING: CPU: \d+ PID: \d+ at |------------\[ cut here \]------------/],
  ['lockdep', /possible circular locking dependency|possible recursive locking|inconsistent lock state|suspicious RCU usage/],
  ['rcu-stall', /rcu: INFO: .*detected stalls|self-detected stall on CPU/],
  ['hung-task', /INFO: task .* blocked for more than \d+ seconds/],
];

/** Strips "[    1.234567] " timestamps (and a console's CR) so dmesg and serial lines compare equal. */
export function stripTimestamp(line: string): string {
  return line.replace(/\r$/, '').replace(/^\[\s*\d+\.\d+\]\s?/, '');
}

/** The kinds that, a few lines into an open report, belong to it ("BUG: … NULL pointer" then "Oops:"). */
const continuation = new Set(['oops', 'BUG']);
const endOfReport = /---\[ end (trace|Kernel panic)/;
const reportLines = 40;

/**
 * Kernel reports in a log, one finding per report: its kind, a normalised title (see
 * fingerprint.ts), the header line and an excerpt. The same report seen twice (dmesg and the
 * serial console) counts once.
 */
export function scanKernelLog(text: string): KernelFinding[] {
  const lines = text.split('\n').map(stripTimestamp);
  const findings: KernelFinding[] = [];
  const seen = new Set<string>();
  let open: { at: number; ended: boolean } | undefined;
  lines.forEach((line, i) => {
    if (open && endOfReport.test(line)) open.ended = true;
    const kind = patterns.find(([, re]) => re.test(line))?.[0];
    if (!kind) return;
    // A "cut here" banner belongs to the report on the next line (a WARNING, a kernel BUG).
    if (/cut here/.test(line) && patterns.some(([, re]) => re.test(lines[i + 1] ?? ''))) return;
    const inReport = open !== undefined && !open.ended && i - open.at < 8;
    if (inReport && continuation.has(kind)) return;
    const key = line.trim();
    if (seen.has(key)) {
      // The second copy of a report (dmesg, then the console): its continuation lines are known too.
      open = { at: i, ended: false };
      return;
    }
    seen.add(key);
    const report = lines.slice(i, i + reportLines);
    const endAt = report.findIndex((l, j) => j > 0 && endOfReport.test(l));
    const body = endAt > 0 ? report.slice(0, endAt + 1) : report;
    findings.push({ kind, title: crashTitle(kind, body), line: key, excerpt: body.slice(0, 14).join('\n') });
    open = { at: i, ended: false };
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

/** What a fault is matched against: a declared fault, or (in tests and tools) any part of one. */
export type FaultPattern = Partial<ExpectedFault>;

/** A DMAR fault is recorded per page (VT-d's fault info is the page address): compare pages. */
const page = (address: string) => BigInt(address) >> 12n;

export function faultMatches(fault: DmarFault, expected: FaultPattern, devices: Readonly<Record<string, string>>): boolean {
  if (expected.device !== undefined) {
    const bdf = devices[expected.device] ?? expected.device;
    if (shortBdf(bdf) !== fault.device) return false;
  }
  if (expected.access !== undefined && expected.access !== fault.access) return false;
  if (expected.address !== undefined && page(expected.address) !== page(fault.address)) return false;
  if (expected.reason !== undefined) {
    const ok = typeof expected.reason === 'string' ? fault.reason.includes(expected.reason) : expected.reason.test(fault.reason);
    if (!ok) return false;
  }
  return true;
}

/** Observed faults that no declared fault accounts for. */
export function unexpectedFaults(observed: readonly DmarFault[], expected: readonly FaultPattern[], devices: Readonly<Record<string, string>>): DmarFault[] {
  return observed.filter((f) => !expected.some((e) => faultMatches(f, e, devices)));
}

/** Declared faults that never came: each must be matched by an observed fault of its device, direction and page. */
export function missingFaults(observed: readonly DmarFault[], expected: readonly ExpectedFault[], devices: Readonly<Record<string, string>>): ExpectedFault[] {
  return expected.filter((e) => !observed.some((f) => faultMatches(f, e, devices)));
}
