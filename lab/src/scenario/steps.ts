// The step builder: the probe sequences scenarios share, as named functions returning labelled
// steps, so a scenario spells out only what its concern adds and reads its results by label:
//
//   const r = await probe.run(...readyForIdentify(device.cdev), { identify: `nvme-identify d ${iova.target}` });
//   expect(r.enable.rdy, 'controller ready').toBe(true);
//
// Handles follow one convention: device fd d, iommufd i, IOAS a (DeviceHandles can rename them
// for a second device). Labels are fixed per builder and a run refuses a label used twice.
import type { SyscallResult } from './expect.ts';
import type { Outcome, ParkedOp, Swept } from './probe-schema.ts';

export interface DeviceHandles {
  /** The device's cdev fd. */
  dev: string;
  iommufd: string;
  ioas: string;
}

export const defaultHandles: DeviceHandles = { dev: 'd', iommufd: 'i', ioas: 'a' };

/** IOVAs of the DMA scenarios: arbitrary, page-aligned and below the MSI window. */
export const iova = { sq: '0x100000', cq: '0x101000', target: '0x200000', txRing: '0x300000', rxRing: '0x301000', txBuf: '0x302000', rxBuf: '0x303000' } as const;

/** open the cdev → open /dev/iommu → BIND. Labels: open, iommufd, bind. */
export function openBound(cdev: string, h: DeviceHandles = defaultHandles) {
  return [{ open: `open ${h.dev} ${cdev}` }, { iommufd: `iommufd ${h.iommufd}` }, { bind: `bind ${h.dev} ${h.iommufd}` }] as const;
}

/** openBound, then IOAS_ALLOC. Labels: open, iommufd, bind, ioas. */
export function bound(cdev: string, h: DeviceHandles = defaultHandles) {
  return [...openBound(cdev, h), { ioas: `ioas-alloc ${h.iommufd} ${h.ioas}` }] as const;
}

/** bound, then ATTACH to the IOAS. Labels: open, iommufd, bind, ioas, attach. */
export function attached(cdev: string, h: DeviceHandles = defaultHandles) {
  return [...bound(cdev, h), { attach: `attach ${h.dev} ${h.ioas}` }] as const;
}

export interface BufferOptions {
  /** The byte every byte holds until a device writes it; @default 0 */
  fill?: number;
  /** Map without IOMMU_IOAS_MAP_WRITEABLE. */
  ro?: boolean;
}

const fillWord = (fill: number | undefined) => (fill === undefined ? '' : ` fill=0x${fill.toString(16)}`);

/** A one-page DMA buffer `name`, mapped at `at` (an IOVA, or `name.gpa`) in the IOAS. Label: map. */
export function mappedBuffer(name: string, at: string, options: BufferOptions = {}, h: DeviceHandles = defaultHandles) {
  return [`buf ${name} 4096${fillWord(options.fill)}`, { map: `map-buf ${h.iommufd} ${h.ioas} ${name} ${at}${options.ro ? ' ro' : ''}` }] as const;
}

/** A one-page buffer nothing maps: a canary a device must not reach (aim it at `name.gpa`). */
export function canary(name: string, fill = 0x5a) {
  return `buf ${name} 4096${fillWord(fill)}` as const;
}

export interface NvmeEnableOptions {
  /** Admin SQ/CQ IOVAs, or 'own-gpa' (the queue page's own GPA); @default iova.sq / iova.cq */
  sq?: string;
  cq?: string;
  /** Leave the queues unmapped. */
  nomap?: boolean;
}

/** NVMe controller enabled with one admin queue pair (mapped unless nomap). Label: enable. */
export function nvmeEnabled(options: NvmeEnableOptions = {}, h: DeviceHandles = defaultHandles) {
  const { sq = iova.sq, cq = iova.cq } = options;
  return { enable: `nvme-enable ${h.dev} ${h.iommufd} ${h.ioas} ${sq} ${cq}${options.nomap ? ' nomap' : ''}` } as const;
}

/**
 * Attached, buffer t (0xaa) mapped at iova.target, the controller enabled with its queues
 * mapped: ready for `nvme-identify d <iova>`. Labels: those of attached, map, enable.
 */
export function readyForIdentify(cdev: string) {
  return [...attached(cdev), ...mappedBuffer('t', iova.target, { fill: 0xaa }), nvmeEnabled()] as const;
}

/** QEMU's Identify Controller data: PCI VID 0x1b36 (little-endian) and its model number. */
export function identifyLanded(check: Outcome<'buf-check'>): boolean {
  return (check.hex ?? '').startsWith('361b') && (check.ascii ?? '').includes('QEMU NVMe Ctrl');
}

/**
 * The child's write result of a wait-bg, for expect.errno: undefined ("not run") while the child
 * has not reported one.
 */
export function childResult(w: Outcome<'wait-bg'>): SyscallResult | undefined {
  return w.errno === null ? undefined : { ret: w.ret, errno: w.errno, errname: w.errname };
}

/**
 * Where a parked sweep's records disagree with the probe's own account of it (`swept`): a
 * record count that differs, an ioctl number of its range tried never or twice. Empty when the
 * sweep covered everything it says it did.
 */
export function sweepGaps(ops: readonly ParkedOp[], swept: Swept): string[] {
  const gaps: string[] = [];
  if (ops.length !== swept.records) gaps.push(`${ops.length} records, the probe says it wrote ${swept.records}`);
  const tried = new Map<number, number>();
  for (const op of ops) if (op.kind === 'ioctl') tried.set(op.nr, (tried.get(op.nr) ?? 0) + 1);
  const skipped = new Set(swept.skipped.map((s) => s.nr));
  for (let nr = swept.ioctl_nr_first; nr <= swept.ioctl_nr_last; nr++) {
    const n = tried.get(nr) ?? 0;
    const want = skipped.has(nr) ? 0 : 1;
    if (n !== want) gaps.push(`ioctl nr ${nr} tried ${n} times${skipped.has(nr) ? ' (it should be skipped)' : ''}`);
  }
  return gaps;
}
