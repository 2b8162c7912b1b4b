// S6e: after UNMAP the IOVA faults again and the old page is left alone.
import { identifyLanded, iova, parseDmarFaults, readyForIdentify, scenario } from '../../lab/src/api.ts';

export default scenario(
  'unmap-blocks-dma-again',
  {
    devices: ['nvme'],
    tags: ['dma', 'S6', 'iotlb'],
    expectedFaults: [{ device: 'nvme', access: 'write', address: iova.target }],
    concern: {
      text: 'After IOAS_UNMAP the IOVA must fault again and the page that was mapped must stay untouched: a translation left in the IOTLB would be DMA into memory user space (and iommufd) already let go of.',
      ref: 'iopt_unmap_iova() / iommu_iotlb_sync() (drivers/iommu/iommufd)',
    },
  },
  async ({ probe, vm, device, expect, step }) => {
    const r = await step('Identify into a mapped buffer, unmap it, Identify again', () =>
      probe.run(
        ...readyForIdentify(device.cdev),
        `nvme-identify d ${iova.target}`,
        { before: 'buf-check t' },
        'buf-fill t fill=0x77',
        { unmap: `unmap i a ${iova.target} 4096` },
        `nvme-identify d ${iova.target}`,
        { after: 'buf-check t' },
      ),
    );
    expect(identifyLanded(r.before), 'first Identify landed while mapped (the translation was in use)').toBe(true);
    expect.errno(r.unmap, 'ok', 'IOAS_UNMAP');
    expect(r.after.changed, `old page written after UNMAP (first changed byte at ${String(r.after.first_changed_offset)})`).toBe(false);
    const faults = parseDmarFaults(await vm.dmesg()).filter((f) => f.access === 'write' && BigInt(f.address) === BigInt(iova.target));
    expect(faults.length > 0, `a DMAR write fault at ${iova.target} after UNMAP`).toBe(true);
  },
);
