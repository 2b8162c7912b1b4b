// Shared by the nested scenarios: QEMU 10 as the VMM inside the guest, driven by /usr/bin/vmm
// (guest-images/vmm/vmm.sh, in the `vmm` image), and its `iommufd_*` trace read back as data.
import type { ScenarioContext } from '../../lab/src/api.ts';

type Vm = ScenarioContext['vm'];

export interface TraceEvent {
  name: string;
  /** key=value pairs of the event's format string, as printed. */
  fields: Record<string, string>;
  line: string;
}

/**
 * QEMU's `log` trace backend prints `[PID@SECS.USECS:]name fmt`; the pid@time prefix is only
 * there with -msg timestamp or a newer QEMU, so it is optional. Lines that are not trace events
 * (QEMU's own warnings) are left out.
 */
export function parseTrace(log: string, prefix = 'iommufd_'): TraceEvent[] {
  const events: TraceEvent[] = [];
  for (const line of log.split('\n')) {
    const g = /^(?:\d+@[\d.]+:)?(?<name>[a-z][a-z0-9_]*)\s*(?<rest>.*)$/.exec(line.trim())?.groups;
    if (!g?.name || !g.name.startsWith(prefix)) continue;
    const fields: Record<string, string> = {};
    for (const f of (g.rest ?? '').matchAll(/(?<k>[a-z_]+)=(?<v>[^\s,()]+)/g)) if (f.groups?.k && f.groups.v) fields[f.groups.k] = f.groups.v;
    events.push({ name: g.name, fields, line: line.trim() });
  }
  return events;
}

/** The distinct event names in order of first appearance: the VMM's lifecycle in one line. */
export function eventOrder(events: TraceEvent[]): string[] {
  return [...new Set(events.map((e) => e.name))];
}

/** A trace field as a number (decimal or 0x…), NaN if absent. */
export function num(e: TraceEvent, field: string): number {
  const v = e.fields[field];
  return v === undefined ? Number.NaN : Number(v);
}

export const l2MemMiB = 64;

export interface Started {
  ms: number;
  pid: number;
}

/** Starts the VMM with `bdf` assigned over iommufd, paused (-S); throws with QEMU's log if it dies. */
export async function startVmm(vm: Vm, bdf: string, extra: string[] = []): Promise<Started> {
  const t0 = Date.now();
  const r = await vm.exec(['env', `VMM_MEM=${l2MemMiB}`, 'vmm', 'start', bdf, ...extra].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' '));
  if (r.exitCode !== 0) throw new Error(`vmm start ${bdf} failed (exit ${r.exitCode}):\n${r.stderr.trim()}`);
  const pid = Number(/started pid (?<pid>\d+)/.exec(r.stdout)?.groups?.pid);
  return { ms: Date.now() - t0, pid };
}

/** Asks QEMU to quit over its monitor and waits for it to exit. */
export async function quitVmm(vm: Vm): Promise<string> {
  return (await vm.exec('vmm quit')).stdout.trim();
}

/** Quits the VMM if one is running: for finally blocks, so a failed step leaves no VMM behind. */
export async function stopVmm(vm: Vm): Promise<void> {
  await vm.exec('[ -f /tmp/vmm/pid ] && kill -0 "$(cat /tmp/vmm/pid)" 2>/dev/null && vmm quit; true');
}

export async function vmmLog(vm: Vm): Promise<string> {
  return (await vm.exec('cat /tmp/vmm/log')).stdout;
}

/** Kernel-side accounting of the VMM process: pinned (VmPin) and resident memory, in kB. */
export async function vmmStatus(vm: Vm, pid: number): Promise<{ pinnedKiB: number; rssKiB: number; fds: string[] }> {
  const status = await vm.sh`cat /proc/${pid}/status`;
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(?<kb>\\d+) kB`, 'm').exec(status)?.groups?.kb ?? Number.NaN);
  const fds = (await vm.sh`ls -l /proc/${pid}/fd`).split('\n').map((l) => /-> (?<target>\S+)$/.exec(l)?.groups?.target).filter((f): f is string => f !== undefined);
  return { pinnedKiB: kib('VmPin'), rssKiB: kib('VmHWM'), fds };
}

/** Sends qtest commands to the running VMM in one round trip; one answer per command. */
export async function qtest(vm: Vm, commands: string[]): Promise<string[]> {
  const r = await vm.exec(['vmm', 'qtest', ...commands].map((a) => `'${a}'`).join(' '));
  if (r.exitCode !== 0) throw new Error(`vmm qtest failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  const answers = r.stdout.trim().split('\n');
  const bad = answers.filter((a) => !a.startsWith('OK'));
  if (answers.length !== commands.length || bad.length > 0) throw new Error(`qtest answered ${JSON.stringify(answers)} to ${JSON.stringify(commands)}`);
  return answers;
}

/** The value of a qtest `readl`/`readq` answer ("OK 0x…"). */
export function qtestValue(answer: string): bigint {
  return BigInt(answer.replace(/^OK\s+/, ''));
}

/** The bytes of a qtest `read ADDR LEN` answer ("OK 0x<hex>"). */
export function qtestBytes(answer: string): Buffer {
  return Buffer.from(answer.replace(/^OK\s+0x/, ''), 'hex');
}

/**
 * L2's view: the assigned device sits at 00:04.0 (vmm.sh puts it there); with -S no firmware
 * ran, so the scenario programs its BAR0 and command register through the 0xcf8/0xcfc ports.
 */
export const l2 = { bar0: 0xc000_0000, sq: 0x10_0000, cq: 0x10_1000, target: 0x20_0000 } as const;

// `>>> 0`: the enable bit makes a bitwise OR negative in JavaScript.
const cf8 = (reg: number) => `outl 0xcf8 0x${((0x8000_0000 | (4 << 11) | reg) >>> 0).toString(16)}`;
const hex = (n: number) => `0x${n.toString(16)}`;

/** qtest commands that place BAR0 (64-bit) at l2.bar0 and enable memory decoding and bus mastering. */
export function l2PciSetup(): string[] {
  return [cf8(0x10), `outl 0xcfc ${hex(l2.bar0)}`, cf8(0x14), 'outl 0xcfc 0x0', cf8(0x04), 'outl 0xcfc 0x6'];
}

/** qtest commands: disable the controller, give it one admin queue pair in L2 RAM, enable it. */
export function l2NvmeEnable(): string[] {
  const r = (off: number) => hex(l2.bar0 + off);
  return [`writel ${r(0x14)} 0x0`, `writel ${r(0x24)} 0x10001`, `writeq ${r(0x28)} ${hex(l2.sq)}`, `writeq ${r(0x30)} ${hex(l2.cq)}`, `writel ${r(0x14)} 0x460001`];
}

/** qtest commands: Identify Controller (CID 1) into `prp1` as admin SQ entry 0, then the SQ0 tail doorbell. */
export function l2Identify(prp1: number): string[] {
  return [`memset ${hex(l2.cq)} 4096 0`, `writel ${hex(l2.sq)} 0x10006`, `writel ${hex(l2.sq + 4)} 0x0`, `writeq ${hex(l2.sq + 24)} ${hex(prp1)}`, `writel ${hex(l2.sq + 40)} 0x1`, `writel ${hex(l2.bar0 + 0x1000)} 0x1`];
}

export const cstsReg = () => hex(l2.bar0 + 0x1c);
/** The phase/status dword of admin CQ entry 0. */
export const cqStatus = () => hex(l2.cq + 12);

/** One qtest command, its answer. */
export async function qtestOne(vm: Vm, command: string): Promise<string> {
  return (await qtest(vm, [command])).join('');
}
