// DMA a VMM's guest aims outside the RAM QEMU gave it faults in L1 and lands nowhere: an Identify
// whose PRP1 is an IOVA QEMU never mapped, then one aimed at the L1 guest-physical address of a
// canary page (on vmm-pt, where L1's own default domains are identity, a device the IOAS failed to
// confine would really write it).
import { scenario } from '../../lab/src/api.ts';
import {
  dropCanary,
  expectBlockedWriteCompletion,
  firstUnmappedPage,
  hex64,
  holdCanary,
  l1WriteFaultsAt,
  l2,
  l2Completion,
  l2EnableReady,
  l2Identify,
  l2MemMiB,
  l2PciSetup,
  mappedRanges,
  pageMapped,
  parseTrace,
  qtest,
  quitVmm,
  releaseCanary,
  startVmm,
  stopVmm,
  vmmLog,
} from './vmm.ts';

const l2Bytes = BigInt(l2MemMiB) << 20n;
const canaryPages = 16;

export default scenario(
  'vmm-dma-outside-l2-faults',
  {
    devices: ['nvme'],
    machines: ['vmm', 'vmm-pt'],
    image: 'vmm',
    tags: ['nested', 'vmm', 'dma', 'escape'],
    timeoutMs: 120_000,
    concern: {
      text: "A device a VMM assigned over iommufd reaches only what the VMM mapped into its IOAS (L2's RAM at IOVA = L2 GPA): DMA its guest aims anywhere else — an IOVA never mapped, or the L1 address of a page the VMM does not own — must fault in L1's IOMMU and write nothing, also where L1's other devices are in identity domains (iommu=pt).",
      ref: 'iommufd IOMMU_IOAS_MAP / IOMMU_HWPT_ALLOC (the VMM\'s HWPT replaces the default domain at ATTACH); QEMU hw/vfio/iommufd.c',
    },
  },
  async ({ vm, device, expect, expectFault, step, attach, defer }) => {
    defer('the VMM and what it holds', async () => {
      await dropCanary(vm);
      await stopVmm(vm);
    });
    await step(`QEMU 10 holds ${device.bdf} over iommufd; L2 paused (-S), no L2 kernel`, () => startVmm(vm, device.bdf));

    await step('qtest: BAR0 placed, bus mastering on, the controller enabled with its admin queues in L2 RAM', async () => {
      await qtest(vm, l2PciSetup());
      const csts = await l2EnableReady(vm);
      expect(Number(csts & 3n), 'CSTS of the assigned controller (RDY=1, CFS=0)').toBe(1);
    });

    // Read after BAR0 is placed, so the maps QEMU makes for it (if any) are in the trace too.
    const maps = await step("what QEMU mapped into the IOAS: L2's RAM at IOVA = L2 GPA", async () => {
      const log = await vmmLog(vm);
      await attach('vmm-trace.log', log);
      const m = mappedRanges(parseTrace(log));
      await attach('vmm-mappings.txt', m.map((x) => `${hex64(x.iova)} +${hex64(x.size)}`).join('\n') + '\n');
      expect(m.length > 0, `successful IOAS maps traced (${m.length})`).toBe(true);
      for (const a of [l2.sq, l2.cq, l2.target]) expect(pageMapped(BigInt(a), m), `L2 GPA 0x${a.toString(16)} (queues, Identify target) is mapped`).toBe(true);
      return m;
    });

    const outside = firstUnmappedPage(maps, 4n * l2Bytes);
    await step(`Identify with PRP1 = ${hex64(outside)}, an IOVA QEMU never mapped: a DMAR write fault there in L1`, async () => {
      expect(pageMapped(outside, maps) || outside < l2Bytes, `${hex64(outside)} is above L2's RAM and in no traced map`).toBe(false);
      expectFault({ device: 'nvme', access: 'write', address: hex64(outside) });
      await qtest(vm, l2Identify(Number(outside)));
      expectBlockedWriteCompletion(expect, vm, await l2Completion(vm), 'Identify to the unmapped IOVA');
      const faults = await l1WriteFaultsAt(vm, device.bdf, outside);
      expect(faults.length > 0, `DMAR write faults at ${hex64(outside)} in L1 (${faults.map((f) => `${f.address} ${f.reason}`).join('; ') || 'none'})`).toBe(true);
    });

    const held = await step(`a canary of ${canaryPages} pages in L1 (fill 0x5a), held by a background probe`, () => holdCanary(vm, canaryPages));
    // Above L2's RAM size, so no address is also an L2 GPA QEMU mapped (IOVA = L2 GPA). The
    // lowest and the highest such page: where the buffer's pages fall is the allocator's choice,
    // and two ends of it reach more of L1's memory than one page.
    const eligible = held.gpas.filter((g) => g >= l2Bytes && !pageMapped(g, maps));
    const lowest = eligible.reduce<bigint | undefined>((m, g) => (m === undefined || g < m ? g : m), undefined);
    const highest = eligible.reduce<bigint | undefined>((m, g) => (m === undefined || g > m ? g : m), undefined);
    const targets = [...new Set([lowest, highest].filter((g): g is bigint => g !== undefined))];
    await step(`Identify with PRP1 = the L1 GPA of canary pages ${targets.map(hex64).join(', ') || '(none)'}: a fault at each, the canary unchanged`, async () => {
      await attach('canary-gpas.txt', held.gpas.map(hex64).join('\n') + '\n');
      expect(targets.length > 0, `a canary page above L2's ${l2MemMiB} MiB and outside every IOAS map (GPAs ${held.gpas.map(hex64).join(' ')})`).toBe(true);
      const seen: { target: bigint; faults: string }[] = [];
      for (const target of targets) {
        // A fresh queue pair, so the Identify is again SQ/CQ entry 0 (what l2Identify writes).
        const csts = await l2EnableReady(vm);
        expect(Number(csts & 3n), 'CSTS after re-enabling (RDY=1, CFS=0)').toBe(1);
        expectFault({ device: 'nvme', access: 'write', address: hex64(target) });
        await qtest(vm, l2Identify(Number(target)));
        expectBlockedWriteCompletion(expect, vm, await l2Completion(vm), `Identify to the canary page ${hex64(target)}`);
        seen.push({ target, faults: (await l1WriteFaultsAt(vm, device.bdf, target)).map((f) => `${f.address} ${f.reason}`).join('; ') });
      }
      const check = await releaseCanary(vm, held);
      expect(check.changed, `canary changed (${check.changedBytes} bytes, first at ${check.firstChangedOffset})`).toBe(false);
      // Had the pages moved, "unchanged" would be about other memory than the device was aimed at.
      expect(check.gpas.map(hex64).join(' '), "the canary's GPAs at the check (the same pages)").toBe(held.gpas.map(hex64).join(' '));
      for (const f of seen) expect(f.faults !== '', `DMAR write faults at the canary page ${hex64(f.target)} in L1 (${f.faults || 'none'})`).toBe(true);
    });

    await step('the VMM quits cleanly', async () => {
      const out = await quitVmm(vm);
      expect(out.startsWith('exited after'), `vmm quit: ${out}`).toBe(true);
    });
  },
);
