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
