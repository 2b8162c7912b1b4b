// S7 with DMA: the bound device keeps its iommufd context alive; closing the cdev frees it all.
import { scenario } from '../../lab/src/api.ts';
import { identifyLanded, iova, readyForIdentify } from './steps.ts';

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
    const out = await step('close the iommufd FD, then DMA; then close the cdev and bind afresh', () =>
      probe.run(
        ...readyForIdentify(device.cdev),
        'close i',
        `nvme-identify d ${iova.target}`,
        'buf-check t',
        'nvme-disable d',
        'close d',
        `open d2 ${device.cdev}`,
        'iommufd i2',
        'bind d2 i2',
      ),
    );
    const [, , , , , , , , closeI, , landed, disable, closeD, reopen, , rebind] = out;
    expect.errno(closeI, 'ok', 'close the iommufd FD');
    expect(identifyLanded(landed), 'Identify landed after the iommufd FD was closed').toBe(true);
    expect(disable?.rdy, 'controller stopped').toBe(false);
    expect.errno(closeD, 'ok', 'close the cdev');
    expect.errno(reopen, 'ok', 'open the cdev again');
    expect.errno(rebind, 'ok', 'BIND afresh');
  },
);
