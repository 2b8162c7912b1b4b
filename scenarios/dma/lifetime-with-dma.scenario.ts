// S7 with DMA: the bound device keeps its iommufd context alive; closing the cdev frees it all.
import { identifyLanded, iova, readyForIdentify, scenario } from '../../lab/src/api.ts';

export default scenario(
  'dma-outlives-the-iommufd-fd',
  {
    devices: ['nvme'],
    tags: ['dma', 'lifetime', 'S7'],
    concern: {
      text: 'Closing the only iommufd FD while a device is bound must not tear down its IOAS under live DMA: the device keeps working; closing the cdev then releases everything and a fresh open + BIND works.',
      ref: 'vfio_df_iommufd_bind() holds the iommufd_ctx; iommufd_fops_release()',
    },
  },
  async ({ probe, device, expect, step }) => {
    const r = await step('close the iommufd FD, then DMA; then close the cdev and bind afresh', () =>
      probe.run(
        ...readyForIdentify(device.cdev),
        { closeI: 'close i' },
        `nvme-identify d ${iova.target}`,
        { landed: 'buf-check t', disable: 'nvme-disable d', closeD: 'close d', reopen: `open d2 ${device.cdev}` },
        'iommufd i2',
        { rebind: 'bind d2 i2' },
      ),
    );
    expect.errno(r.closeI, 'ok', 'close the iommufd FD');
    expect(identifyLanded(r.landed), 'Identify landed after the iommufd FD was closed').toBe(true);
    expect(r.disable.rdy, 'controller stopped').toBe(false);
    expect.errno(r.closeD, 'ok', 'close the cdev');
    expect.errno(r.reopen, 'ok', 'open the cdev again');
    expect.errno(r.rebind, 'ok', 'BIND afresh');
  },
);
