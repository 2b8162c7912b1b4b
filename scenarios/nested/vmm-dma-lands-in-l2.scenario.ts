// DMA of a device a VMM assigned lands in its guest's RAM: qtest writes an NVMe admin queue and an
// Identify into L2 RAM, rings the doorbell on the assigned BAR, and reads the data back from L2 RAM,
// at a page in each of QEMU's RAM mappings and at the far end of the large one.
import { scenario } from '../../lab/src/api.ts';
import { expectIdentifyLandsInL2, l2PciSetup, l2Targets, qtest, quitVmm, startVmm, stopVmm } from './vmm.ts';

export default scenario(
  'vmm-dma-lands-in-l2-ram',
  {
    devices: ['nvme'],
    machine: 'vmm',
    image: 'vmm',
    tags: ['nested', 'vmm', 'dma'],
    timeoutMs: 90_000,
    concern: {
      text: "A device assigned by a VMM over iommufd must DMA into its guest's RAM at the guest-physical addresses the guest programs (IOVA = L2 GPA, through QEMU's HWPT), and nowhere else.",
      ref: 'QEMU hw/vfio/iommufd.c (iommufd_cdev_attach, vfio_container_dma_map over iommufd_backend_map_dma); iommufd IOMMU_IOAS_MAP',
    },
  },
  async ({ vm, device, expect, step, defer }) => {
    defer('the VMM and what it holds', async () => {
      await stopVmm(vm);
    });
    await step(`QEMU 10 holds ${device.bdf} over iommufd; L2 paused (-S), no L2 kernel`, () => startVmm(vm, device.bdf));

    await step('qtest: BAR0 placed, memory and bus mastering on', () => qtest(vm, l2PciSetup()));

    for (const t of l2Targets) {
      await step(`Identify into L2 RAM at 0x${t.gpa.toString(16)} (${t.where}): the completion is posted and the data landed there`, () =>
        expectIdentifyLandsInL2(vm, expect, t.gpa),
      );
    }

    await step('the VMM quits cleanly', async () => {
      const out = await quitVmm(vm);
      expect(out.startsWith('exited after'), `vmm quit: ${out}`).toBe(true);
    });
  },
);
