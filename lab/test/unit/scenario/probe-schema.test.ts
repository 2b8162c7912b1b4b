import { readFileSync } from 'node:fs';
import test from 'ava';
import { infoSchema, parkedReportSchema, parseProbeOutput, parseStep, ProbeOutputError, runSchema, stepSchemas } from '../../../src/scenario/probe-schema.ts';

// Real probe output, captured on the host (no VFIO devices there, so mostly the failure shapes):
// `vfio-probe --time-scale 2 run …` with one step of every op but parked, `parked /dev/null`, `info`.
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../fixtures/probe/${name}`, import.meta.url), 'utf8')) as unknown;
const run = parseProbeOutput(runSchema, fixture('host-run.json'), 'run');

test('every op of a real run matches its schema', (t) => {
  t.is(run.time_scale, 2);
  const ops = run.steps.map((s, i) => parseStep(s, `step ${i + 1}`).op);
  t.deepEqual([...new Set([...ops, 'parked'])].sort(), Object.keys(stepSchemas).sort(), 'the fixture covers every op');
});

test('parked and info reports match their schemas', (t) => {
  const parked = parseProbeOutput(parkedReportSchema, fixture('host-parked.json'), 'parked');
  t.is(parked.ops.length, 260);
  t.deepEqual(parked.swept, { records: 260, ioctl_nr_first: 0, ioctl_nr_last: 255, skipped: [{ name: 'VFIO_DEVICE_BIND_IOMMUFD', nr: 118 }] });
  t.true(parseProbeOutput(infoSchema, fixture('host-info.json'), 'info').devices.length > 0);
});

const identify = {
  op: 'nvme-identify', args: ['d', '0x200000'], ret: 0, errno: 0, errname: null, stage: null, cid: 0, prp1: '0x200000', completed: true,
  timed_out: false, status: 0, cqe_cid: 0, sq_head: 1, csts: '0x1', rdy: true, cfs: false, elapsed_ms: 3, bar_errname: null,
};

test('a valid nvme-identify parses to its typed outcome', (t) => {
  const r = parseStep(identify, 'step 9');
  t.is(r.op, 'nvme-identify');
  if (r.op === 'nvme-identify') t.is(r.completed, true);
});

test('a field of the wrong type is an error naming the op and the field', (t) => {
  const e = t.throws(() => parseStep({ ...identify, completed: 'yes' }, 'run step 9 "nvme-identify d 0x200000" (identify)'), { instanceOf: ProbeOutputError });
  t.deepEqual(e.fields, ['completed']);
  t.regex(e.message, /nvme-identify d 0x200000/);
  t.regex(e.message, /field "completed": .*expected boolean, received string/);
});

test('an address that is not a hex string is reported as such', (t) => {
  const e = t.throws(() => parseStep({ ...identify, prp1: 2097152 }, 'step 9'), { instanceOf: ProbeOutputError });
  t.deepEqual(e.fields, ['prp1']);
});

test('a missing field, an unknown field and an unknown op are errors too', (t) => {
  const missing: Partial<typeof identify> = { ...identify };
  delete missing.completed;
  t.deepEqual(t.throws(() => parseStep(missing, 'step 9'), { instanceOf: ProbeOutputError }).fields, ['completed']);
  const extra = t.throws(() => parseStep({ ...identify, complete: true }, 'step 9'), { instanceOf: ProbeOutputError });
  t.deepEqual(extra.fields, ['complete']);
  t.regex(extra.message, /unknown field "complete"/);
  t.deepEqual(t.throws(() => parseStep({ ...identify, op: 'nvme-identfy' }, 'step 9'), { instanceOf: ProbeOutputError }).fields, ['op']);
});

test('a parked record of the wrong shape names its index and field', (t) => {
  const parked = fixture('host-parked.json') as { ops: Record<string, unknown>[] };
  parked.ops[13] = { ...parked.ops[13], errno: '22' };
  const e = t.throws(() => parseProbeOutput(parkedReportSchema, parked, 'parked /dev/vfio/devices/vfio0'), { instanceOf: ProbeOutputError });
  t.deepEqual(e.fields, ['ops.13.errno']);
  t.regex(e.message, /parked \/dev\/vfio\/devices\/vfio0/);
});

// What the lab guest's probe printed for the VMM's path (QEMU 10: GET_HW_INFO, HWPT_ALLOC on the IOAS, ATTACH to the HWPT), 6.12.117 on QEMU 7.2's VT-d.
const hwptAlloc = { op: 'hwpt-alloc', args: ['i', 'h', 'd.devid', 'a'], ret: 0, errno: 0, errname: null, out_hwpt_id: 3 };
const hwInfo = {
  op: 'hw-info', args: ['i', 'd.devid'], ret: 0, errno: 0, errname: null, out_data_type: 1, data_len: 24, out_capabilities: '0x0',
  data_hex: '0100000000000000060226228c00d2004a0ff00000000000',
};

test('hwpt-alloc and hw-info parse to typed outcomes, and their failure shapes too', (t) => {
  const alloc = parseStep(hwptAlloc, 'step 5');
  t.is(alloc.op === 'hwpt-alloc' ? alloc.out_hwpt_id : undefined, 3);
  const info = parseStep(hwInfo, 'step 4');
  t.is(info.op === 'hw-info' ? info.out_data_type : undefined, 1);
  t.is(parseStep({ ...hwptAlloc, ret: -1, errno: 16, errname: 'EBUSY', out_hwpt_id: null }, 'step 5').errname, 'EBUSY');
  const failed = { ...hwInfo, ret: -1, errno: 2, errname: 'ENOENT', out_data_type: null, data_len: null, out_capabilities: null, data_hex: null };
  t.is(parseStep(failed, 'step 4').errname, 'ENOENT');
});

test('a HWPT id or capabilities of the wrong type name the field', (t) => {
  t.deepEqual(t.throws(() => parseStep({ ...hwptAlloc, out_hwpt_id: '3' }, 'step 5'), { instanceOf: ProbeOutputError }).fields, ['out_hwpt_id']);
  // A u64 bit mask travels as a hex string, like an address: a number would lose bits above 2^53.
  t.deepEqual(t.throws(() => parseStep({ ...hwInfo, out_capabilities: 0 }, 'step 4'), { instanceOf: ProbeOutputError }).fields, ['out_capabilities']);
  t.deepEqual(t.throws(() => parseStep({ ...hwInfo, out_max_pasid_log2: 0 }, 'step 4'), { instanceOf: ProbeOutputError }).fields, ['out_max_pasid_log2']);
});
