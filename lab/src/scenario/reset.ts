// Handing a booted guest from one scenario to the next. A guest is reused only after a checked
// reset: no probe process left, no VFIO or iommufd file still open, every device the scenario
// used back on vfio-pci and bindable again, every other device on the driver it booted with. A
// check that fails is a failure of the scenario that just ran — a kernel that leaks state from
// one user of a device to the next is a bug — and the guest is not reused.
import { quote, quoteArgv, sh } from '../util/quote.ts';
import type { GuestDevice } from './define.ts';
import { bindScript } from './devices.ts';
import { probeArgv, readRun } from './probe.ts';
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
 * under TCG, against ~60 ms), one grep every process's comm (a process gone by then is
 * skipped); `proc` is there for the unit test's fake tree.
 */
export function leftoversScript(proc = '/proc'): string {
  return [
    `grep -slx vfio-probe ${proc}/[0-9]*/comm | sed 's|.*/\\([0-9]*\\)/comm$|process vfio-probe (pid \\1) still running|'`,
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

/** The line of the after-scenario exec's output where the reset's part ends and the kernel log begins. */
export const logFollows = 'IOMMUFD-LAB-KERNEL-LOG-FOLLOWS';

/**
 * The next user's proof that it can use the devices again: one probe run, one iommufd (devices
 * sharing a group must share their owner), each rebound device opened and BOUND. Device i of the
 * scenario's list is `d<i>`, whether or not the others came back; the guest script builds the
 * same steps from the cdevs it found.
 */
function proofScript(rebound: readonly { i: number; cdev: string }[]) {
  return ['iommufd i', ...rebound.flatMap(({ i, cdev }) => [`open d${i} ${cdev}`, { [`bind${i}`]: `bind d${i} i` }])] as const;
}

/**
 * Guest script for the whole reset in one exec (each exec costs a round trip, ~80-160 ms under
 * TCG): the leftovers (then stop: nothing is rebound for a scenario that leaked), each used
 * device back onto vfio-pci, the next user's open and BIND of each (proofScript), the drivers of
 * the others. Every output line is tagged with the part it belongs to ("left …", "bind BDF …",
 * "proof …", "driver BDF NAME"); a device is back when its bind part names its cdev and group.
 * It runs in a subshell, so a script may follow it in the same exec (afterScript).
 */
export function resetScript(used: readonly string[], others: readonly string[], timeScale = 1): string {
  const probe = quoteArgv(probeArgv(timeScale, 'run')).replace(/ run$/, ' run "$@"');
  return [
    '(',
    `l=$(\n${leftoversScript()}\n)`,
    `if [ -n "$l" ]; then printf '%s\\n' "$l" | sed 's/^/left /'; exit 0; fi`,
    "set -- 'iommufd i'",
    ...used.flatMap((b, i) => [
      `o=$( (\n${bindScript(b)}\n) 2>&1 )`,
      `printf '%s\\n' "$o" | sed ${quote(`s|^|bind ${b} |`)}`,
      `c=$(printf '%s\\n' "$o" | sed -n 's|^\\(/dev/vfio/devices/vfio[0-9]*\\) [0-9]*$|\\1|p' | head -n 1)`,
      `[ -z "$c" ] || set -- "$@" "open d${i} $c" 'bind d${i} i'`,
    ]),
    'if [ $# -gt 1 ]; then',
    `  p=$(${probe} 2>/tmp/lab-proof.err); echo "proof-exit $?"`,
    `  printf '%s\\n' "$p" | sed 's/^/proof /'; sed 's/^/proof-err /' /tmp/lab-proof.err; rm -f /tmp/lab-proof.err`,
    'fi',
    ...(others.length ? [`{\n${driversScript(others)}\n} | sed 's/^/driver /'`] : []),
    ')',
  ].join('\n');
}

/** The reset after a scenario that used `used`: the devices it did not use are only read. */
export function resetAfter(used: readonly GuestDevice[], bootDrivers: ReadonlyMap<string, string>, timeScale: number): string {
  const bdfs = used.map((d) => d.bdf);
  return resetScript(bdfs, othersOf(bdfs, bootDrivers), timeScale);
}

function othersOf(used: readonly string[], bootDrivers: ReadonlyMap<string, string>): string[] {
  return [...bootDrivers.keys()].filter((b) => !used.includes(b));
}

/** One exec after a scenario: the reset, then (after the logFollows line) `then`, the kernel log's read. */
export function afterScript(reset: string, then: string): string {
  return `${reset}\necho ${logFollows}\n${then}`;
}

/** Splits an afterScript's stdout into the reset's part and what `then` printed. */
export function splitAfter(stdout: string): { reset: string; rest: string } | null {
  const at = stdout.indexOf(`${logFollows}\n`);
  if (at < 0 || (at > 0 && stdout[at - 1] !== '\n')) return null;
  return { reset: stdout.slice(0, at), rest: stdout.slice(at + logFollows.length + 1) };
}

/**
 * Judges what resetScript printed. bindErrno is what BIND gives a new user of this machine (0;
 * EPERM where the vIOMMU has no interrupt remapping, by design).
 */
export function readReset(stdout: string, used: readonly GuestDevice[], bootDrivers: ReadonlyMap<string, string>, bindErrno = 0): ResetCheck {
  const leaks: string[] = [];
  const notReusable: string[] = [];
  const others = othersOf(used.map((d) => d.bdf), bootDrivers);
  const out = stdout.split('\n');
  const tagged = (tag: string) => out.filter((l) => l.startsWith(`${tag} `)).map((l) => l.slice(tag.length + 1));
  leaks.push(...tagged('left'));
  if (leaks.length > 0) return { leaks, notReusable };
  const rebound: { i: number; d: GuestDevice; cdev: string }[] = [];
  used.forEach((d, i) => {
    const lines = tagged(`bind ${d.bdf}`);
    const cdev = lines.map((l) => /^(\/dev\/vfio\/devices\/vfio\d+) \d+$/.exec(l)?.[1]).find(Boolean);
    if (!cdev) leaks.push(`${d.name} (${d.bdf}) could not be bound to vfio-pci again: ${lines.join(' ').trim()}`);
    else rebound.push({ i, d, cdev });
  });
  if (rebound.length > 0) {
    const proof = ((): Record<string, Outcome<'bind'>> | Error => {
      const exit = tagged('proof-exit')[0];
      const why = tagged('proof-err').join('\n').trim() || tagged('proof').join('\n').trim();
      if (exit !== '0') return new Error(`vfio-probe exited ${exit ?? '(not run)'}: ${why}`);
      try {
        return readRun(proofScript(rebound), JSON.parse(tagged('proof').join('\n'))) as Record<string, Outcome<'bind'>>;
      } catch (error) {
        return error as Error;
      }
    })();
    for (const { i, d } of rebound) {
      const next = proof instanceof Error ? proof : proof[`bind${i}`]!;
      if (next instanceof Error) leaks.push(`${d.name} (${d.bdf}): the next user's open and BIND failed: ${next.message.slice(0, 300)}`);
      else if (next.errno !== bindErrno) leaks.push(`${d.name} (${d.bdf}) cannot be bound by the next user: BIND gives ${next.errname ?? 'ok'}, expected ${bindErrno ? `errno ${bindErrno}` : 'ok'}`);
    }
  }
  const now = parseDrivers(tagged('driver').join('\n'));
  for (const b of others) if (now.get(b) !== bootDrivers.get(b)) notReusable.push(`${b} is on ${now.get(b) ?? '?'}, booted on ${bootDrivers.get(b)}`);
  return { leaks, notReusable };
}
