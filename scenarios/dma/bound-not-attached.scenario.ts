// S6d: bound but not attached, the group sits in the blocking domain.
import { bound, canary, identifyLanded, iova, nvmeEnabled, readyForIdentify, scenario } from '../../lab/src/api.ts';

export default scenario(
  'bound-but-not-attached-is-blocked',
  {
    devices: ['nvme'],
    machines: ['default', 'pt'],
    tags: ['dma', 'S6', 'escape'],
    concern: {
      text: 'BIND claims DMA ownership and moves the group to a blocking domain: before ATTACH the device must reach no memory at all, not even its own queues at their physical addresses.',
      ref: 'iommufd_device_bind() / __iommu_take_dma_ownership() (Linux 5.19, 6.2)',
    },
  },
  async ({ probe, device, expect, expectFault, step }) => {
    // Queues at their own GPAs: a device wrongly left in an identity domain (iommu=pt) would
    // fetch them, run the Identify and write the canary.
    const r = await step('enable the controller and Identify into a canary, without ATTACH', () =>
      probe.run(...bound(device.cdev), canary('c'), nvmeEnabled({ sq: 'own-gpa', cq: 'own-gpa', nomap: true }), {
        // An Identify that can complete does within 15 ms under TCG (448 measured): 100 ms (×4) waits for nothing else.
        identify: 'nvme-identify d c.gpa timeout=100',
        canary: 'buf-check c',
        cq: 'buf-check d.cq',
      }),
    );
    expect.errno(r.bind, 'ok', 'BIND');
    // The controller's first DMA, the fetch of its submission queue (at its own GPA), is what faults.
    expectFault({ device: 'nvme', access: 'read', address: String(r.enable.sq_gpa) });
    expect(r.identify.completed, 'Identify completed without ATTACH').toBe(false);
    expect(r.canary.changed, 'canary changed').toBe(false);
    expect(r.cq.changed, 'completion queue written').toBe(false);
    // Positive control: in the same guest, the same device's Identify lands once attached and
    // mapped. A device that cannot DMA at all would pass every "blocked" check above.
    await step('positive control: the same Identify lands once attached, into a mapped buffer', async () => {
      const c = await probe.run(...readyForIdentify(device.cdev), { identify: `nvme-identify d ${iova.target}`, check: 'buf-check t' });
      expect.errno(c.attach, 'ok', 'ATTACH');
      expect(c.identify.completed, 'Identify completed once attached').toBe(true);
      expect(identifyLanded(c.check), 'Identify data (VID 0x1b36, "QEMU NVMe Ctrl") in the mapped buffer').toBe(true);
    });
  },
);
