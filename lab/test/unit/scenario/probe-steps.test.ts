import test from 'ava';
import type { Vm } from '../../../src/guest/vm.ts';
import { Probe } from '../../../src/scenario/probe.ts';
import { ProbeOutputError, type ParkedOp, type Swept } from '../../../src/scenario/probe-schema.ts';
import { attached, canary, childResult, mappedBuffer, nvmeEnabled, readyForIdentify, sweepGaps } from '../../../src/scenario/steps.ts';

// A guest whose probe answers with canned output: what Probe does with the JSON is under test.
function guest(reply: (command: string) => unknown) {
  const commands: string[] = [];
  const vm = {
    exec: async (command: string) => {
      commands.push(command);
      return { exitCode: 0, stdout: JSON.stringify(reply(command)), stderr: '', ms: 1 };
    },
  } as unknown as Vm;
  return { vm, commands };
}

const sys = (ret: number, errname: string | null = null) => ({ ret, errno: errname ? 22 : 0, errname });
const outcome: Record<string, (args: string[]) => Record<string, unknown>> = {
  open: () => sys(3),
  iommufd: () => sys(4),
  bind: () => ({ ...sys(0), out_devid: 1 }),
  detach: () => sys(-1, 'EINVAL'),
  'buf-check': () => ({ ...sys(0), stage: null, fill: 90, changed: false, changed_bytes: 0, first_changed_offset: null, hex: '5a'.repeat(64), ascii: 'Z'.repeat(40), gpa: '0x1000', gpas: ['0x1000'] }),
};

/** Answers `vfio-probe … run STEP…` with one outcome per step, as the probe would. */
const probeRun = (patch: (step: Record<string, unknown>) => Record<string, unknown> = (s) => s) => (command: string) => {
  const steps = [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!).slice(4);
  return { time_scale: 1, steps: steps.map((text) => { const [op, ...args] = text.split(' '); return patch({ op, args, ...outcome[op!]!(args) }); }) };
};

test('run returns labelled results by label and passes the time scale', async (t) => {
  const { vm, commands } = guest(probeRun());
  const r = await new Probe(vm, { timeScale: 4 }).run({ open: 'open d /dev/vfio/devices/vfio0' }, 'iommufd i', { bind: 'bind d i', detach: 'detach d' }, { canary: 'buf-check c' });
  t.deepEqual(Object.keys(r), ['open', 'bind', 'detach', 'canary']);
  t.is(r.bind.out_devid, 1);
  t.is(r.detach.errname, 'EINVAL');
  t.is(r.canary.changed, false);
  t.regex(commands[0]!, /^vfio-probe --time-scale 4 run 'open d \/dev\/vfio\/devices\/vfio0' 'iommufd i' 'bind d i' 'detach d' 'buf-check c'$/);
});

test('a labelled step whose output has a field of the wrong type fails the run, naming step, label and field', async (t) => {
  const { vm } = guest(probeRun((s) => (s.op === 'buf-check' ? { ...s, changed: 'no' } : s)));
  const e = await t.throwsAsync(new Probe(vm).run('iommufd i', { canary: 'buf-check c' }), { instanceOf: ProbeOutputError });
  t.deepEqual(e.fields, ['changed']);
  t.regex(e.message, /run step 2 "buf-check c" \(canary\)/);
  t.regex(e.message, /field "changed": .*expected boolean, received string/);
});

test('labels are identifiers used once; the probe must answer every step with its op', async (t) => {
  const { vm } = guest(probeRun());
  await t.throwsAsync(new Probe(vm).run({ bind: 'bind d i' }, { bind: 'bind d i' }), { message: /"bind" is used twice/ });
  await t.throwsAsync(new Probe(vm).run({ 0: 'bind d i' }), { message: /label "0"/ });
  const swapped = guest(probeRun(() => ({ op: 'open', args: [], ...sys(3) }))).vm;
  await t.throwsAsync(new Probe(swapped).run({ bind: 'bind d i' }), { message: /"open" for a "bind" step/ });
  const short = guest(() => ({ time_scale: 1, steps: [] })).vm;
  await t.throwsAsync(new Probe(short).run('bind d i'), { message: /0 step results for 1 steps/ });
});

test('the builders spell the probe sequences with their labels', (t) => {
  t.deepEqual(attached('/dev/vfio/devices/vfio0'), [
    { open: 'open d /dev/vfio/devices/vfio0' },
    { iommufd: 'iommufd i' },
    { bind: 'bind d i' },
    { ioas: 'ioas-alloc i a' },
    { attach: 'attach d a' },
  ]);
  t.deepEqual(mappedBuffer('r', '0x200000', { fill: 0x33, ro: true }), ['buf r 4096 fill=0x33', { map: 'map-buf i a r 0x200000 ro' }]);
  t.is(canary('c'), 'buf c 4096 fill=0x5a');
  t.deepEqual(nvmeEnabled({ sq: 'own-gpa', cq: 'own-gpa', nomap: true }), { enable: 'nvme-enable d i a own-gpa own-gpa nomap' });
  t.deepEqual(readyForIdentify('/dev/x').slice(5), ['buf t 4096 fill=0xaa', { map: 'map-buf i a t 0x200000' }, { enable: 'nvme-enable d i a 0x100000 0x101000' }]);
});

test('childResult: a wait-bg without the child’s result is "not run", a finished one is its write', (t) => {
  const base = { op: 'wait-bg' as const, args: ['bg', '0'], stage: null, pid: 9, signal: null, wait_error: null };
  t.is(childResult({ ...base, ret: null, errno: null, errname: null, finished: false }), undefined);
  t.deepEqual(childResult({ ...base, ret: 13, errno: 0, errname: null, finished: true, stage: 'write' }), { ret: 13, errno: 0, errname: null });
});

test('sweepGaps holds a sweep to the probe’s own account of it', (t) => {
  const swept: Swept = { records: 4, ioctl_nr_first: 0, ioctl_nr_last: 3, skipped: [{ name: 'BIND', nr: 2 }] };
  const ioctl = (nr: number): ParkedOp => ({ name: `ioctl#${nr}`, kind: 'ioctl', nr, cmd: `0x3b0${nr}`, ret: -1, errno: 22, errname: 'EINVAL' });
  const read: ParkedOp = { name: 'read-bar0', kind: 'read', offset: '0x0', ret: -1, errno: 22, errname: 'EINVAL' };
  t.deepEqual(sweepGaps([read, ioctl(0), ioctl(1), ioctl(3)], swept), []);
  t.deepEqual(sweepGaps([read, ioctl(0), ioctl(3)], swept), ['3 records, the probe says it wrote 4', 'ioctl nr 1 tried 0 times']);
  t.deepEqual(sweepGaps([ioctl(0), ioctl(1), ioctl(2), ioctl(3)], swept), ['ioctl nr 2 tried 1 times (it should be skipped)']);
});
