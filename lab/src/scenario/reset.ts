// Handing a booted guest from one scenario to the next. A guest is reused only after a checked
// reset: no probe process left, no VFIO or iommufd file still open, every device the scenario
// used back on vfio-pci and bindable again, every other device on the driver it booted with. A
// check that fails is a failure of the scenario that just ran — a kernel that leaks state from
// one user of a device to the next is a bug — and the guest is not reused.
import type { Vm } from '../guest/vm.ts';
import { quote, sh } from '../util/quote.ts';
import type { GuestDevice } from './define.ts';
import { bindScript } from './devices.ts';
import { Probe } from './probe.ts';
import type { Outcome } from './probe-schema.ts';

/** The kmsg line that opens a scenario's part of the kernel log in a reused guest. */
export function beginMarker(id: string): string {
  return `IOMMUFD-LAB-BEGIN ${id}`;
}

/** The part of a log after the last line carrying the marker (the whole log if it is absent). */
export function sinceMarker(log: string, marker: string): string {
  const at = log.lastIndexOf(marker);
  if (at < 0) return log;
  const lineEnd = log.indexOf('\n', at);
  return lineEnd < 0 ? '' : log.slice(lineEnd + 1);
}

/**
 * Guest script: processes and open files a finished scenario must not leave behind. One `ls -l`
 * reads every process's fd links (a readlink per fd forked ~700 processes: 300-600 ms a reset
 * under TCG, against ~60 ms); `proc` is there for the unit test's fake tree.
 */
export function leftoversScript(proc = '/proc'): string {
  return [
    'for p in $(pidof vfio-probe); do echo "process vfio-probe (pid $p) still running"; done',
    `ls -l ${proc}/[0-9]*/fd 2>/dev/null | awk '/fd:$/ { p = substr($0, 1, length($0) - 4); next }`,
    `  { n = index($0, " -> "); l = substr($0, n + 4); if (n && (index(l, "/dev/vfio/") == 1 || l == "/dev/iommu")) print p " still holds " l }'`,
  ].join('\n');
}

/** Guest script: each BDF and the driver it is bound to ("-" for none). */
export function driversScript(bdfs: readonly string[]): string {
  return bdfs.map((b) => sh`d=/sys/bus/pci/devices/${b}; printf '%s %s\n' ${b} "$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null || echo -)"`).join('\n');
}

export function parseDrivers(out: string): Map<string, string> {
  return new Map(out.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]).map(([b, d]) => [b, d || '-']));
}

export interface ResetCheck {
  /** What the scenario left behind: each is a failure of that scenario. */
  leaks: string[];
  /** Reasons the guest cannot be handed on that are nobody's fault (a device left on another driver). */
  notReusable: string[];
}

/**
 * Guest script for the whole reset in one exec (each exec costs a round trip, ~80-160 ms under
 * TCG): the leftovers (then stop: nothing is rebound for a scenario that leaked), each used
 * device back onto vfio-pci, the drivers of the others. Every output line is tagged with the
 * part it belongs to ("left …", "bind BDF …", "driver BDF NAME"); a device is back when its bind
 * part names its cdev and group.
 */
export function resetScript(used: readonly string[], others: readonly string[]): string {
  return [
    `l=$(\n${leftoversScript()}\n)`,
    `if [ -n "$l" ]; then printf '%s\\n' "$l" | sed 's/^/left /'; exit 0; fi`,
    ...used.map((b) => `(\n${bindScript(b)}\n) 2>&1 | sed ${quote(`s|^|bind ${b} |`)}`),
    ...(others.length ? [`{\n${driversScript(others)}\n} | sed 's/^/driver /'`] : []),
  ].join('\n');
}

/**
 * Runs the checked reset in the guest. bindErrno is what BIND gives a new user of this machine
 * (0; EPERM where the vIOMMU has no interrupt remapping, by design).
 */
export async function checkedReset(vm: Vm, used: readonly GuestDevice[], bootDrivers: ReadonlyMap<string, string>, bindErrno = 0): Promise<ResetCheck> {
  const leaks: string[] = [];
  const notReusable: string[] = [];
  const usedBdfs = new Set(used.map((d) => d.bdf));
  const others = [...bootDrivers.keys()].filter((b) => !usedBdfs.has(b));
  const out = (await vm.exec(resetScript(used.map((d) => d.bdf), others))).stdout.split('\n');
  const tagged = (tag: string) => out.filter((l) => l.startsWith(`${tag} `)).map((l) => l.slice(tag.length + 1));
  leaks.push(...tagged('left'));
  if (leaks.length > 0) return { leaks, notReusable };
  // Re-bindable: a new user opens each cdev and BINDs it to a new iommufd, all in one probe run
  // and one iommufd (devices sharing a group must share their owner).
  const rebound: { d: GuestDevice; cdev: string }[] = [];
  for (const d of used) {
    const lines = tagged(`bind ${d.bdf}`);
    const cdev = lines.map((l) => /^(\/dev\/vfio\/devices\/vfio\d+) \d+$/.exec(l)?.[1]).find(Boolean);
    if (!cdev) leaks.push(`${d.name} (${d.bdf}) could not be bound to vfio-pci again: ${lines.join(' ').trim()}`);
    else rebound.push({ d, cdev });
  }
  if (rebound.length > 0) {
    const steps = ['iommufd i', ...rebound.flatMap(({ cdev }, i) => [`open d${i} ${cdev}`, { [`bind${i}`]: `bind d${i} i` }])];
    const r = await new Probe(vm).run(...steps).then((x) => x as Record<string, Outcome<'bind'>>, (error: Error) => error);
    rebound.forEach(({ d }, i) => {
      const next = r instanceof Error ? r : r[`bind${i}`]!;
      if (next instanceof Error) leaks.push(`${d.name} (${d.bdf}): the next user's open and BIND failed: ${next.message.slice(0, 300)}`);
      else if (next.errno !== bindErrno) leaks.push(`${d.name} (${d.bdf}) cannot be bound by the next user: BIND gives ${next.errname ?? 'ok'}, expected ${bindErrno ? `errno ${bindErrno}` : 'ok'}`);
    });
  }
  const now = parseDrivers(tagged('driver').join('\n'));
  for (const b of others) if (now.get(b) !== bootDrivers.get(b)) notReusable.push(`${b} is on ${now.get(b) ?? '?'}, booted on ${bootDrivers.get(b)}`);
  return { leaks, notReusable };
}
