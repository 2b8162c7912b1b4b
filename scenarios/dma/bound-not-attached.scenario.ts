// S6d: bound but not attached, the group sits in the blocking domain.
import { scenario } from '../../lab/src/api.ts';
import { bound } from './steps.ts';

export default scenario(
  'bound-but-not-attached-is-blocked',
  {
    devices: ['nvme'],
    machines: ['default', 'pt'],
    tags: ['dma', 'S6', 'escape'],
    // The controller's first DMA, the fetch of its submission queue, is what faults.
    expectedFaults: [{ device: 'nvme', access: 'read' }],
    concern: {
      text: 'BIND claims DMA ownership and moves the group to a blocking domain: before ATTACH the device must reach no memory at all, not even its own queues at their physical addresses.',
      ref: 'iommufd_device_bind() / __iommu_take_dma_ownership() (Linux 5.19, 6.2)',
    },
  },
  async ({ probe, device, expect, step }) => {
    // Queues at their own GPAs: a device wrongly left in an identity domain (iommu=pt) would
    // fetch them, run the Identify and write the canary.
    const out = await step('enable the controller and Identify into a canary, without ATTACH', () =>
      probe.run(...bound(device.cdev), 'buf c 4096 fill=0x5a', 'nvme-enable d i a own-gpa own-gpa nomap', 'nvme-identify d c.gpa timeout=300', 'buf-check c', 'buf-check d.cq'),
    );
    const [, , bind, , , , identify, canary, cq] = out;
    expect.errno(bind, 'ok', 'BIND');
    expect(identify?.completed, 'Identify completed without ATTACH').toBe(false);
    expect(canary?.changed, 'canary changed').toBe(false);
    expect(cq?.changed, 'completion queue written').toBe(false);
  },
);
