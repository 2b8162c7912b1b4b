// The pure helpers of nested/vmm-dma-outside-l2-faults (scenarios/nested/vmm.ts): what QEMU
// mapped, from its trace, and the probe document a background run has printed so far.
import test from 'ava';
import { firstUnmappedPage, mappedRanges, pageMapped, parseTrace, probeStepsSoFar } from '../../../../scenarios/nested/vmm.ts';

// As QEMU 10.0 traced a 64 MiB L2 in the lab's L1 (one failed map added).
const trace = [
  'iommufd_backend_map_dma  iommufd=4 ioas=2 iova=0x0 size=0x4000000 addr=0x7f5e40000000 readonly=0 (0)',
  'iommufd_backend_map_dma  iommufd=4 ioas=2 iova=0xffff0000 size=0x10000 addr=0x7f5e3fe00000 readonly=1 (0)',
  'iommufd_backend_unmap_dma  iommufd=4 ioas=2 iova=0x0 size=0x4000000 (0)',
  'iommufd_backend_map_dma  iommufd=4 ioas=2 iova=0x100000 size=0x3f00000 addr=0x7f5e40100000 readonly=0 (0)',
  'iommufd_backend_map_dma  iommufd=4 ioas=2 iova=0x10000000 size=0x1000 addr=0x7f00 readonly=0 (-14)',
].join('\n');

test('mapped ranges are the maps that succeeded; an unmap does not shrink them', (t) => {
  const maps = mappedRanges(parseTrace(trace));
  t.deepEqual(maps, [
    { iova: 0x0n, size: 0x4000000n },
    { iova: 0xffff0000n, size: 0x10000n },
    { iova: 0x100000n, size: 0x3f00000n },
  ]);
  t.true(pageMapped(0x3fff000n, maps));
  t.false(pageMapped(0x4000000n, maps));
  t.true(pageMapped(0xfffff000n, maps));
  // The failed map at 0x10000000 is not a mapping.
  t.false(pageMapped(0x10000000n, maps));
});

test('the first unmapped page skips every mapping it meets, also ones that abut', (t) => {
  const maps = [
    { iova: 0x0n, size: 0x4000000n },
    { iova: 0x4000000n, size: 0x2000n },
    { iova: 0x10000000n, size: 0x1000n },
  ];
  t.is(firstUnmappedPage(maps, 0x0n), 0x4002000n);
  t.is(firstUnmappedPage(maps, 0x10000000n), 0x10001000n);
  t.is(firstUnmappedPage(maps, 0x8000001n), 0x8001000n);
});

test('a probe document still being printed gives its finished steps', (t) => {
  const whole = '{"time_scale":1,"steps":[{"op":"buf","args":["c","4096"],"ret":0,"errno":0,"errname":null,"gpas":["0x5a57000"]},{"op":"buf-check","args":["c"],"changed":false}]}';
  t.deepEqual(probeStepsSoFar(whole).map((s) => s.op), ['buf', 'buf-check']);
  const partial = '{"time_scale":1,"steps":[{"op":"buf","args":["c","4096"],"ret":0,"errno":0,"errname":null,"gpas":["0x5a57000"]},';
  t.deepEqual(probeStepsSoFar(partial).map((s) => s.op), ['buf']);
  t.deepEqual(probeStepsSoFar('{"time_scale":1,"steps":['), []);
  t.deepEqual(probeStepsSoFar(''), []);
});
