// What vfio-probe prints, as one zod schema per op (guest-images/probe/README.md is the prose
// version). Validated where the JSON enters, so a field the probe renamed, dropped or typed
// differently is an error naming the op and the field, not an `undefined` that quietly fails
// (or passes) an expectation three files away.
import { z } from 'zod';
import { LabError } from '../util/errors.ts';

/** u64 addresses and offsets travel as "0x…" strings (a JSON number loses bits above 2^53). */
const hex = z.string().regex(/^0x[0-9a-f]+$/, 'expected a "0x…" hex string');
const hexBytes = z.string().regex(/^(?:[0-9a-f]{2})*$/, 'expected hex bytes');
const count = z.number().int().nonnegative();
const int = z.number().int();
const name = z.string().nullable();

const sysret = { ret: int, errno: int, errname: name };
const sysretObject = z.strictObject(sysret);

/** The fields every step has: what ran and what the syscall said. */
const step = <O extends string>(op: O) => z.strictObject({ op: z.literal(op), args: z.array(z.string()), ...sysret });

const pci = {
  command: hex.nullable(),
  bar_access: z.enum(['mmap', 'rw']).nullable(),
  bar_size: count.nullable(),
  mmap_errname: name,
  bar_errname: name,
};
const gpas = { gpa: hex.nullable(), gpas: z.array(hex.nullable()).nullable() };
const csts = { csts: hex.nullable(), rdy: z.boolean().nullable(), cfs: z.boolean().nullable() };

export const parkedOpSchema = z.discriminatedUnion('kind', [
  z.strictObject({ name: z.string(), kind: z.literal('ioctl'), nr: count, cmd: hex, ...sysret, signal: int.optional() }),
  z.strictObject({ name: z.string(), kind: z.enum(['read', 'write', 'mmap']), offset: hex, ...sysret }),
]);

/** The probe's own account of the sweep: records written, ioctl numbers tried, those skipped. */
export const sweptSchema = z.strictObject({
  records: count,
  ioctl_nr_first: count,
  ioctl_nr_last: count,
  skipped: z.array(z.strictObject({ name: z.string(), nr: count })),
});

const bgStage = z.string().nullable();

/** One schema per op of `vfio-probe run`, keyed by op name. */
export const stepSchemas = {
  open: step('open'),
  close: step('close'),
  iommufd: step('iommufd'),
  bind: step('bind').extend({ out_devid: count.nullable() }),
  attach: step('attach').extend({ pt_id: count }),
  detach: step('detach'),
  'ioas-alloc': step('ioas-alloc').extend({ id: count.nullable() }),
  destroy: step('destroy').extend({ id: count }),
  map: step('map').extend({ stage: z.string().nullable(), iova: hex.nullable(), user_va: hex.nullable() }),
  unmap: step('unmap').extend({ length: count.nullable() }),
  'iova-ranges': step('iova-ranges').extend({
    stage: z.string().nullable(),
    num_iovas: count.nullable(),
    ranges: z.array(z.strictObject({ start: hex, last: hex })).nullable(),
    out_iova_alignment: count.nullable(),
  }),
  'raw-iommufd': step('raw-iommufd').extend({ cmd: hex, out_hex: hexBytes }),
  'hwpt-alloc': step('hwpt-alloc').extend({ out_hwpt_id: count.nullable() }),
  // out_data_type: enum iommu_hw_info_type (1 = IOMMU_HW_INFO_TYPE_INTEL_VTD); data_len: the
  // length of the driver's whole info struct, of which data_hex shows the first 64 bytes.
  'hw-info': step('hw-info').extend({ out_data_type: count.nullable(), data_len: count.nullable(), out_capabilities: hex.nullable(), data_hex: hexBytes.nullable() }),
  'get-info': step('get-info').extend({ flags: count.nullable(), num_regions: count.nullable(), num_irqs: count.nullable() }),
  'region-info': step('region-info').extend({ size: count.nullable(), offset: hex.nullable(), flags: count.nullable() }),
  read: step('read').extend({ stage: z.string().nullable(), bytes: count.nullable(), hex: hexBytes.nullable() }),
  write: step('write').extend({ stage: z.string().nullable(), bytes: count.nullable() }),
  mmap: step('mmap'),
  munmap: step('munmap'),
  'group-open': step('group-open').extend({ path: z.string() }),
  'container-open': step('container-open').extend({ path: z.string() }),
  'group-set-container': step('group-set-container'),
  'set-iommu': step('set-iommu'),
  'group-get-device': step('group-get-device'),
  'sysfs-write': step('sysfs-write').extend({ stage: z.enum(['open', 'write']) }),
  'sysfs-write-bg': step('sysfs-write-bg').extend({ stage: z.enum(['fork', 'pipe']), pid: count.nullable() }),
  // ret/errno/errname are the child's write result: null while it runs.
  'wait-bg': z.strictObject({
    op: z.literal('wait-bg'),
    args: z.array(z.string()),
    ret: int.nullable(),
    errno: int.nullable(),
    errname: name,
    stage: bgStage,
    finished: z.boolean(),
    pid: count.nullable(),
    signal: int.nullable(),
    wait_error: name,
  }),
  exists: step('exists').extend({ exists: z.boolean() }),
  sleep: step('sleep'),
  parked: step('parked').extend({ ops: z.array(parkedOpSchema), swept: sweptSchema }),
  buf: step('buf').extend({
    stage: z.string().nullable(),
    user_va: hex.nullable(),
    length: count.nullable(),
    fill: count.nullable(),
    ...gpas,
    gpa_errname: name,
  }),
  'buf-fill': step('buf-fill').extend({ stage: z.string().nullable(), fill: count.nullable() }),
  'buf-check': step('buf-check').extend({
    stage: z.string().nullable(),
    fill: count.nullable(),
    changed: z.boolean().nullable(),
    changed_bytes: count.nullable(),
    first_changed_offset: count.nullable(),
    hex: hexBytes.nullable(),
    ascii: z.string().nullable(),
    ...gpas,
  }),
  'map-buf': step('map-buf').extend({ stage: z.string().nullable(), iova: hex, user_va: hex.nullable(), length: count.nullable(), ...gpas }),
  'nvme-enable': step('nvme-enable').extend({
    stage: z.string().nullable(),
    ...pci,
    sq_iova: hex.nullable(),
    cq_iova: hex.nullable(),
    mapped: z.boolean(),
    sq_gpa: hex.nullable(),
    cq_gpa: hex.nullable(),
    cap: hex.nullable(),
    csts_before: hex.nullable(),
    disable_timed_out: z.boolean().nullable(),
    ...csts,
    timed_out: z.boolean().nullable(),
    elapsed_ms: int.nullable(),
  }),
  'nvme-identify': step('nvme-identify').extend({
    stage: z.string().nullable(),
    cid: count.nullable(),
    prp1: hex.nullable(),
    completed: z.boolean().nullable(),
    timed_out: z.boolean().nullable(),
    status: count.nullable(),
    cqe_cid: count.nullable(),
    sq_head: count.nullable(),
    ...csts,
    elapsed_ms: int.nullable(),
    bar_errname: name,
  }),
  'nvme-disable': step('nvme-disable').extend({ stage: z.string().nullable(), ...csts, timed_out: z.boolean().nullable(), elapsed_ms: int.nullable() }),
  'e1000-loopback': step('e1000-loopback').extend({
    stage: z.string().nullable(),
    ...pci,
    tx_ring_iova: hex,
    rx_ring_iova: hex,
    tx_buf_iova: hex,
    rx_buf_iova: hex,
    mapped_rx: z.boolean(),
    unmap_errname: name,
    frame_length: count,
    bmcr: hex.nullable(),
    mdic_error: z.boolean().nullable(),
    status: hex.nullable(),
    tx_done: z.boolean().nullable(),
    rx_done: z.boolean().nullable(),
    tx_desc_status: hex.nullable(),
    rx_length: count.nullable(),
    rx_desc_status: hex.nullable(),
    rx_desc_errors: hex.nullable(),
    payload_match: z.boolean().nullable(),
    tdh: count.nullable(),
    rdh: count.nullable(),
    icr: hex.nullable(),
    elapsed_ms: int.nullable(),
  }),
} as const;

export type OpName = keyof typeof stepSchemas;
export type Outcome<O extends OpName> = z.infer<(typeof stepSchemas)[O]>;
export type ParkedOp = z.infer<typeof parkedOpSchema>;
export type Swept = z.infer<typeof sweptSchema>;

/** `vfio-probe run`: the steps are checked one by one against their op's schema. */
export const runSchema = z.strictObject({ time_scale: count, steps: z.array(z.unknown()) });

/** `vfio-probe parked PATH`. */
export const parkedReportSchema = z.strictObject({
  time_scale: count,
  path: z.string(),
  open: sysretObject,
  ops: z.array(parkedOpSchema),
  close: sysretObject.nullable(),
  swept: sweptSchema.nullable(),
});
export type ParkedReport = z.infer<typeof parkedReportSchema>;

/** `vfio-probe info`. */
export const infoSchema = z.strictObject({
  devices: z.array(
    z.strictObject({
      bdf: z.string(),
      vendor: hex.nullable(),
      device: hex.nullable(),
      class: hex.nullable(),
      driver: z.string().nullable(),
      iommu_group: count.nullable(),
      vfio_dev: z.string().nullable(),
    }),
  ),
});
export type ProbeInfo = z.infer<typeof infoSchema>;

/** The probe printed something its schema does not allow: names what printed it and the field. */
export class ProbeOutputError extends LabError {
  constructor(
    readonly what: string,
    readonly fields: string[],
    detail: string,
  ) {
    super(`vfio-probe ${what} printed what its schema does not allow: ${detail}`, {
      hint: 'the probe (guest-images/probe) and lab/src/scenario/probe-schema.ts changed apart; update the schema with the probe',
    });
  }
}

/** Parses `value` with `schema`, or throws a ProbeOutputError naming each offending field. */
export function parseProbeOutput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const fields: string[] = [];
  const detail = r.error.issues
    .map((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k].join('.')) : [issue.path.join('.') || '(the whole value)'];
      fields.push(...keys);
      return issue.code === 'unrecognized_keys' ? `unknown field ${keys.map((k) => `"${k}"`).join(', ')}` : `field "${keys[0]}": ${issue.message}`;
    })
    .join('; ');
  throw new ProbeOutputError(what, fields, detail);
}

/** The schema of one step's outcome, by the op the probe says it ran. */
export function parseStep(value: unknown, what: string): Outcome<OpName> {
  const op = (value as { op?: unknown } | null)?.op;
  if (typeof op !== 'string' || !Object.hasOwn(stepSchemas, op)) throw new ProbeOutputError(what, ['op'], `field "op": unknown op ${JSON.stringify(op)}`);
  return parseProbeOutput(stepSchemas[op as OpName], value, what) as Outcome<OpName>;
}
