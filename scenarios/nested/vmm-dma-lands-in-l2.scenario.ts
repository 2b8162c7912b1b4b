// DMA of a device a VMM assigned lands in its guest's RAM: qtest writes an NVMe admin queue and an
// Identify into L2 RAM, rings the doorbell on the assigned BAR, and reads the data back from L2 RAM.
import { scenario } from '../../lab/src/api.ts';
import { cqStatus, cstsReg, l2, l2Identify, l2NvmeEnable, l2PciSetup, qtest, qtestBytes, qtestOne, qtestValue, quitVmm, startVmm, stopVmm } from './vmm.ts';

const poll = async (read: () => Promise<bigint>, done: (v: bigint) => boolean, tries = 50): Promise<bigint> => {
  let v = await read();
  for (let i = 0; i < tries && !done(v); i++) v = await read();
  return v;
};

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
  async ({ vm, device, expect, step }) => {
    try {
      await step(`QEMU 10 holds ${device.bdf} over iommufd; L2 paused (-S), no L2 kernel`, () => startVmm(vm, device.bdf));

      await step('qtest: BAR0 placed, memory and bus mastering on, the controller enabled with its admin queues in L2 RAM', async () => {
        await qtest(vm, [...l2PciSetup(), `memset ${'0x' + l2.target.toString(16)} 4096 0xaa`, ...l2NvmeEnable()]);
        const csts = await poll(async () => qtestValue(await qtestOne(vm, `readl ${cstsReg()}`)), (v) => (v & 1n) === 1n);
        expect(Number(csts & 3n), `CSTS of the assigned controller (RDY=1, CFS=0), read through L2's BAR`).toBe(1);
      });

      await step('Identify into L2 RAM: the completion is posted and the data landed at the L2 address', async () => {
        await qtest(vm, l2Identify(l2.target));
        const status = await poll(async () => qtestValue(await qtestOne(vm, `readl ${cqStatus()}`)), (v) => (v & 0x1_0000n) !== 0n);
        expect(Number((status >> 16n) & 1n), 'phase bit of admin CQ entry 0 in L2 RAM').toBe(1);
        expect(Number((status >> 17n) & 0x7fffn), 'status field of the completion (0 = success)').toBe(0);
        const head = await qtestOne(vm, `read 0x${l2.target.toString(16)} 4`);
        const model = await qtestOne(vm, `read 0x${(l2.target + 24).toString(16)} 40`);
        const vid = qtestBytes(head).toString('hex');
        expect(vid.startsWith('361b'), `Identify data at L2 0x${l2.target.toString(16)}: PCI VID bytes ${vid} (0x1b36 little-endian)`).toBe(true);
        expect(qtestBytes(model).toString('latin1').trim(), 'model number in L2 RAM').toContain('QEMU NVMe Ctrl');
      });

      await step('the VMM quits cleanly', async () => {
        const out = await quitVmm(vm);
        expect(out.startsWith('exited after'), `vmm quit: ${out}`).toBe(true);
      });
    } finally {
      await stopVmm(vm);
    }
  },
);
