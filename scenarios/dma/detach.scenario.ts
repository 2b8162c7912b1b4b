// S6f: after DETACH, DMA is blocked again.
import { scenario } from '../../lab/src/api.ts';
import { bound, identifyLanded } from './steps.ts';

export default scenario(
  'detach-blocks-dma-again',
  {
    devices: ['nvme'],
    machines: ['default', 'pt'],
    tags: ['dma', 'S6', 'escape'],
    expectedFaults: [{ device: 'nvme', access: 'read' }],
    concern: {
      text: 'DETACH must return a user-owned group to the blocking domain, not to its default domain: with iommu=pt the default domain is identity, and the device would reach all of memory.',
      ref: '__iommu_group_set_core_domain() (drivers/iommu/iommu.c); VFIO_DEVICE_DETACH_IOMMUFD_PT',
    },
  },
  async ({ probe, device, expect, step }) => {
    // Everything at IOVA = GPA: while attached that is a normal mapping; after DETACH only an
    // identity domain would still translate it, and the canary would be written.
    const out = await step('Identify works while attached; after DETACH it must reach nothing', () =>
      probe.run(
        ...bound(device.cdev),
        'attach d a',
        'buf t 4096 fill=0xaa',
        'map-buf i a t t.gpa',
        'nvme-enable d i a own-gpa own-gpa',
        'nvme-identify d t.gpa',
        'buf-check t',
        'detach d',
        'buf c 4096 fill=0x5a',
        'nvme-identify d c.gpa timeout=300',
        'buf-check c',
      ),
    );
    const [, , , , attach, , , , , before, detach, , identify, canary] = out;
    expect.errno(attach, 'ok', 'ATTACH');
    expect(identifyLanded(before), 'Identify landed while attached').toBe(true);
    expect.errno(detach, 'ok', 'DETACH');
    expect(identify?.completed, 'Identify completed after DETACH').toBe(false);
    expect(canary?.changed, 'canary written after DETACH').toBe(false);
  },
);
