// Shared by the nested scenarios: QEMU 10 as the VMM inside the guest, driven by /usr/bin/vmm
// (guest-images/vmm/vmm.sh, in the `vmm` image), and its `iommufd_*` trace read back as data.
import { parseDmarFaults, type DmarFault, type ScenarioContext } from '../../lab/src/api.ts';

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

/**
 * Where Identify data is aimed inside L2's RAM: one page in each part QEMU maps on its own, and
 * the far end. QEMU maps the low 640 KiB and the RAM above 1 MiB as separate IOAS_MAPs (after its
 * reset; before it, all of RAM as one), so a kernel that gets one mapping's translation wrong
 * only past some size or offset (its pinning goes in chunks of 64 KiB of page pointers, 32 MiB)
 * is seen only at the far end of a large one. Nothing but qtest touches L2 RAM: no L2 firmware ran.
 */
export const l2Targets = [
  { gpa: 0x8000, where: 'low RAM, below 640 KiB' },
  { gpa: l2.target, where: 'above 1 MiB, near the start of that mapping' },
  { gpa: l2MemMiB * 0x10_0000 - 0x1000, where: "the last page of L2's RAM" },
] as const;

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

export interface Mapping {
  iova: bigint;
  size: bigint;
}

/**
 * Every range QEMU mapped into the IOAS (the iommufd_backend_map_dma events whose ioctl returned
 * 0). Later unmaps are not subtracted: an address outside all of these was never mapped at all,
 * which is what a scenario choosing an unmapped IOVA needs.
 */
export function mappedRanges(events: TraceEvent[]): Mapping[] {
  return events
    .filter((e) => e.name === 'iommufd_backend_map_dma' && /\(0\)$/.test(e.line) && e.fields.iova !== undefined && e.fields.size !== undefined)
    .map((e) => ({ iova: BigInt(e.fields.iova!), size: BigInt(e.fields.size!) }));
}

/** Whether the page at `addr` meets any of the mappings. */
export function pageMapped(addr: bigint, maps: Mapping[]): boolean {
  return maps.some((m) => addr + 4096n > m.iova && addr < m.iova + m.size);
}

/** The lowest page at or above `from` (page-aligned) that no mapping touches. */
export function firstUnmappedPage(maps: Mapping[], from: bigint): bigint {
  const pageUp = (n: bigint) => (n + 4095n) & ~4095n;
  let a = pageUp(from);
  for (;;) {
    const hit = maps.find((m) => pageMapped(a, [m]));
    if (!hit) return a;
    a = pageUp(hit.iova + hit.size);
  }
}

export const hex64 = (n: bigint) => `0x${n.toString(16)}`;

/**
 * The steps of a probe document so far: vfio-probe flushes after every step, so a run still in
 * progress has printed `{"time_scale":N,"steps":[{…},{…}` and each finished step is whole.
 */
export function probeStepsSoFar(text: string): Record<string, unknown>[] {
  const end = text.lastIndexOf('}');
  if (!text.startsWith('{') || end < 0) return [];
  const body = text.slice(0, end + 1);
  for (const closing of ['', ']}', '}']) {
    try {
      const doc = JSON.parse(body + closing) as { steps?: unknown };
      if (Array.isArray(doc.steps)) return doc.steps as Record<string, unknown>[];
    } catch {
      // a closing that does not fit this prefix: try the next
    }
  }
  return [];
}

const canaryDir = '/tmp/vmm-canary';

export interface HeldCanary {
  /** The holding probe's pid in L1. */
  pid: number;
  /** The L1 guest-physical address of each page of the canary buffer. */
  gpas: bigint[];
  fill: number;
}

/**
 * A canary buffer of `pages` pages (fill 0x5a) in L1 that outlives one exec: vfio-probe runs in
 * the background, makes the buffer, then blocks opening a FIFO for writing (its `sysfs-write`
 * step: an open(O_WRONLY) of a FIFO waits for a reader) until releaseCanary reads it; then it
 * checks the buffer. The buffer lives as long as that process, mlocked, so its GPAs stay put.
 */
export async function holdCanary(vm: Vm, pages: number): Promise<HeldCanary> {
  const steps = [`buf c ${pages * 4096} fill=0x5a`, `sysfs-write ${canaryDir}/release go`, 'buf-check c'];
  const start = await vm.exec(
    `rm -rf ${canaryDir} && mkdir -p ${canaryDir} && mkfifo ${canaryDir}/release && ` +
      `{ vfio-probe run ${steps.map((s) => `'${s}'`).join(' ')} </dev/null >${canaryDir}/out 2>${canaryDir}/err & echo $! >${canaryDir}/pid; }; cat ${canaryDir}/pid`,
  );
  if (start.exitCode !== 0) throw new Error(`starting the canary probe failed (exit ${start.exitCode}): ${start.stderr.trim()}`);
  const pid = Number(start.stdout.trim());
  for (let i = 0; i < 100; i++) {
    const out = (await vm.exec(`cat ${canaryDir}/out`)).stdout;
    const buf = probeStepsSoFar(out).find((s) => s.op === 'buf');
    if (buf) {
      if (buf.errname !== null || !Array.isArray(buf.gpas)) throw new Error(`canary buffer: ${JSON.stringify(buf)}`);
      return { pid, gpas: (buf.gpas as string[]).map((g) => BigInt(g)), fill: 0x5a };
    }
    if ((await vm.exec(`kill -0 ${pid}`)).exitCode !== 0) break;
  }
  throw new Error(`the canary probe made no buffer: ${(await vm.exec(`cat ${canaryDir}/out ${canaryDir}/err`)).stdout.slice(0, 400)}`);
}

export interface CanaryCheck {
  changed: boolean;
  changedBytes: number;
  firstChangedOffset: number | null;
  /** The buffer's GPAs read again at the check. */
  gpas: bigint[];
}

/** Lets the holding probe go on: it checks the canary and exits; its buf-check. */
export async function releaseCanary(vm: Vm, held: HeldCanary): Promise<CanaryCheck> {
  // Read the FIFO only while the probe lives: with no writer left, the open would wait forever.
  const r = await vm.exec(`kill -0 ${held.pid} 2>/dev/null && cat ${canaryDir}/release >/dev/null; i=0; while kill -0 ${held.pid} 2>/dev/null && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done; cat ${canaryDir}/out`);
  const check = probeStepsSoFar(r.stdout).find((s) => s.op === 'buf-check');
  if (!check || check.errname !== null || typeof check.changed !== 'boolean' || !Array.isArray(check.gpas)) throw new Error(`the canary probe did not check its buffer: ${r.stdout.slice(-400)}`);
  return {
    changed: check.changed,
    changedBytes: Number(check.changed_bytes),
    firstChangedOffset: check.first_changed_offset === null ? null : Number(check.first_changed_offset),
    gpas: (check.gpas as string[]).map((g) => BigInt(g)),
  };
}

/** Ends a holding probe still waiting (a step failed before releaseCanary): for finally blocks. */
export async function dropCanary(vm: Vm): Promise<void> {
  await vm.exec(`p=$(cat ${canaryDir}/pid 2>/dev/null) && kill -0 "$p" 2>/dev/null && kill "$p"; true`);
}

/** Reads `read` until `done` or `tries` more reads; the last value. */
export async function pollValue(read: () => Promise<bigint>, done: (v: bigint) => boolean, tries = 50): Promise<bigint> {
  let v = await read();
  for (let i = 0; i < tries && !done(v); i++) v = await read();
  return v;
}

/** (Re-)enables the controller with a fresh admin queue pair (l2NvmeEnable); CSTS once RDY or CFS is set. */
export async function l2EnableReady(vm: Vm): Promise<bigint> {
  await qtest(vm, l2NvmeEnable());
  return pollValue(async () => qtestValue(await qtestOne(vm, `readl ${cstsReg()}`)), (v) => (v & 3n) !== 0n);
}

export interface L2Completion {
  /** The phase bit of admin CQ entry 0 was set: the controller posted a completion. */
  posted: boolean;
  /** The status field (DW3 bits 31:17); 0 = success. */
  status: number;
}

/** Polls admin CQ entry 0 in L2 RAM (as l2Identify leaves it) for a completion, `tries` reads at most. */
export async function l2Completion(vm: Vm, tries = 50): Promise<L2Completion> {
  const dw3 = await pollValue(async () => qtestValue(await qtestOne(vm, `readl ${cqStatus()}`)), (v) => (v & 0x1_0000n) !== 0n, tries);
  return { posted: ((dw3 >> 16n) & 1n) === 1n, status: Number((dw3 >> 17n) & 0x7fffn) };
}

/**
 * Identify Controller into L2 RAM at `gpa` on a freshly enabled controller, then what landed
 * there: the completion in L2's CQ, and QEMU's Identify data (PCI VID 0x1b36, its model number)
 * read back from L2 RAM at `gpa`, which is filled with 0xaa first.
 */
export async function expectIdentifyLandsInL2(vm: Vm, expect: ScenarioContext['expect'], gpa: number): Promise<void> {
  const at = hex(gpa);
  await qtest(vm, [`memset ${at} 4096 0xaa`]);
  const csts = await l2EnableReady(vm);
  expect(Number(csts & 3n), "CSTS of the assigned controller (RDY=1, CFS=0), read through L2's BAR").toBe(1);
  await qtest(vm, l2Identify(gpa));
  const c = await l2Completion(vm);
  expect(c.posted, 'phase bit of admin CQ entry 0 in L2 RAM').toBe(true);
  expect(c.status, 'status field of the completion (0 = success)').toBe(0);
  const vid = qtestBytes(await qtestOne(vm, `read ${at} 4`)).toString('hex');
  expect(vid.startsWith('361b'), `Identify data at L2 ${at}: PCI VID bytes ${vid} (0x1b36 little-endian)`).toBe(true);
  const model = qtestBytes(await qtestOne(vm, `read ${hex(gpa + 24)} 40`)).toString('latin1').trim();
  expect(model, `model number in L2 RAM at ${at}`).toContain('QEMU NVMe Ctrl');
}

/**
 * L1's DMAR write faults at `addr` from the device `bdf`, read until one shows (the fault is an
 * interrupt in L1, reported a moment after the device's write) or `tries` more reads.
 */
export async function l1WriteFaultsAt(vm: Vm, bdf: string, addr: bigint, tries = 20): Promise<DmarFault[]> {
  const dev = bdf.replace(/^[0-9a-f]{4}:/, '');
  const at = async () => parseDmarFaults(await vm.dmesg()).filter((f) => f.access === 'write' && f.device === dev && BigInt(f.address) === addr);
  let faults = await at();
  for (let i = 0; i < tries && faults.length === 0; i++) faults = await at();
  return faults;
}

// --- The legacy path (the vmm-legacy image: QEMU 7.2, no iommufd=) ---

/** In the vmm-legacy image. */
export const legacyQemu = '/opt/qemu72/bin/qemu-system-x86_64';

/**
 * Starts the VMM with `bdf` assigned through its group and the container (`vmm start --legacy`:
 * /dev/vfio/vfio, /dev/vfio/GROUP, no -object iommufd), paused (-S); as startVmm otherwise.
 */
export async function startLegacyVmm(vm: Vm, bdf: string, extra: string[] = []): Promise<Started> {
  // startVmm runs `vmm start BDF EXTRA…`; with --legacy first vmm.sh takes the next word as the BDF.
  return startVmm(vm, '--legacy', [bdf, ...extra]);
}

export interface LegacyMaps {
  /** RAM sections the listener mapped (VFIO_IOMMU_MAP_DMA returned 0). */
  mapped: Mapping[];
  /** Sections whose MAP_DMA failed, with the errno: QEMU goes on without them (a BAR's mmap, for P2P). */
  failed: (Mapping & { errno: number })[];
}

/**
 * What QEMU 7.2's VFIO listener asked the container for, from its log: each
 * vfio_listener_region_add_ram event ("region_add [ram] 0xSTART - 0xEND [HVA]", END inclusive) is
 * one VFIO_IOMMU_MAP_DMA; a failed one is followed by QEMU's own
 * "vfio_dma_map(CONTAINER, IOVA, SIZE, HVA) = -ERRNO" line. Later unmaps are not subtracted.
 */
export function legacyMaps(log: string): LegacyMaps {
  const failed = [...log.matchAll(/vfio_dma_map\(0x[0-9a-f]+, (?<iova>0x[0-9a-f]+), (?<size>0x[0-9a-f]+), 0x[0-9a-f]+\) = -(?<errno>\d+)/g)].map((m) => ({
    iova: BigInt(m.groups!.iova!),
    size: BigInt(m.groups!.size!),
    errno: Number(m.groups!.errno),
  }));
  const added = parseTrace(log, 'vfio_listener_region_add_ram').flatMap((e) => {
    const g = /\[ram\]\s+(?<start>0x[0-9a-f]+)\s+-\s+(?<end>0x[0-9a-f]+)/.exec(e.line)?.groups;
    return g?.start && g.end ? [{ iova: BigInt(g.start), size: BigInt(g.end) - BigInt(g.start) + 1n }] : [];
  });
  return { mapped: added.filter((a) => !failed.some((f) => f.iova === a.iova && f.size === a.size)), failed };
}

/**
 * Checks a completion of a command whose data write the IOMMU blocked: the CQ is in mapped L2
 * RAM, so it is posted; QEMU 7.2's NVMe in L0 ignores the failed data write (nvme_tx does not look
 * at dma_buf_read's MemTxResult) and reports status 0. The fault is the evidence, not the status.
 */
export function expectBlockedWriteCompletion(expect: ScenarioContext['expect'], vm: Vm, c: L2Completion, what: string): void {
  expect(c.posted, `${what}: a completion posted in L2's CQ (the CQ is in mapped L2 RAM)`).toBe(true);
  if (vm.machine.profile.qemu.name === '7.2') expect(c.status, `${what}: completion status as QEMU 7.2's NVMe reports a blocked data write (0)`).toBe(0);
}
