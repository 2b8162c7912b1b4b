// S6f: after DETACH, DMA is blocked again.
import { attached, canary, identifyLanded, mappedBuffer, nvmeEnabled, scenario } from '../../lab/src/api.ts';

export default scenario(
  'detach-blocks-dma-again',
  {
    devices: ['nvme'],
    machines: ['default', 'pt'],
    tags: ['dma', 'S6', 'escape'],
    concern: {
      text: 'DETACH must return a user-owned group to the blocking domain, not to its default domain: with iommu=pt the default domain is identity, and the device would reach all of memory.',
      ref: '__iommu_group_set_core_domain() (drivers/iommu/iommu.c); VFIO_DEVICE_DETACH_IOMMUFD_PT',
    },
  },
  async ({ probe, device, expect, expectFault, step }) => {
    // Everything at IOVA = GPA: while attached that is a normal mapping; after DETACH only an
    // identity domain would still translate it, and the canary would be written.
    const r = await step('Identify works while attached; after DETACH it must reach nothing', () =>
      probe.run(
        ...attached(device.cdev),
        ...mappedBuffer('t', 't.gpa', { fill: 0xaa }),
        nvmeEnabled({ sq: 'own-gpa', cq: 'own-gpa' }),
        'nvme-identify d t.gpa',
        { before: 'buf-check t', detach: 'detach d' },
        canary('c'),
        // An Identify that can complete does within 15 ms under TCG (448 measured): 100 ms (×4) waits for nothing else.
        { identify: 'nvme-identify d c.gpa timeout=100', canary: 'buf-check c' },
      ),
    );
    expect.errno(r.attach, 'ok', 'ATTACH');
    expect(identifyLanded(r.before), 'Identify landed while attached').toBe(true);
    expect.errno(r.detach, 'ok', 'DETACH');
    // After DETACH the next command's first DMA, the fetch of the submission queue, faults.
    expectFault({ device: 'nvme', access: 'read', address: String(r.enable.sq_gpa) });
    expect(r.identify.completed, 'Identify completed after DETACH').toBe(false);
    expect(r.canary.changed, 'canary written after DETACH').toBe(false);
  },
);
