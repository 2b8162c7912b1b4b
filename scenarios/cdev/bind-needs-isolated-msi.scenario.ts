// S3b: without interrupt remapping, BIND is refused (no isolated MSI).
import { openBound, scenario } from '../../lab/src/api.ts';

export default scenario(
  'bind-refused-without-irq-remapping',
  {
    devices: ['nvme'],
    machine: 'intremap-off',
    tags: ['cdev', 'bind', 'S3', 'msi'],
    concern: {
      text: 'A device without isolated MSI (no interrupt remapping) must not be handed to user space unless the admin opts in with allow_unsafe_interrupts.',
      ref: 'iommufd_device_bind() / iommufd_allow_unsafe_interrupts (drivers/iommu/iommufd/device.c)',
    },
  },
  async ({ probe, device, expect, step }) => {
    const r = await step('BIND on a machine with intremap=off', () => probe.run(...openBound(device.cdev), { info: 'get-info d' }));
    expect.errno(r.open, 'ok', 'open');
    expect.errno(r.iommufd, 'ok', 'open /dev/iommu');
    expect.errno(r.bind, 'EPERM', 'BIND without interrupt remapping');
    expect.errno(r.info, 'EINVAL', 'GET_INFO after the refused BIND');
  },
);
