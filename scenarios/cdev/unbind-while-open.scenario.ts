// S8: unbinding the driver waits for the user, and the cdev disappears at once.
import { scenario } from '../../lab/src/api.ts';

export default scenario(
  'driver-unbind-waits-for-open-fd',
  {
    devices: ['nvme'],
    tags: ['cdev', 'lifetime', 'S8'],
    concern: {
      text: 'Removing the device from vfio-pci while user space holds it must block until the FD is closed (never pull the device from under a user), and the cdev node must go away at once so nobody new can open it.',
      ref: 'vfio_unregister_group_dev() (drivers/vfio/vfio_main.c): device release waits on the refcount',
    },
  },
  async ({ probe, device, expect, step }) => {
    const out = await step('unbind from vfio-pci with a bound FD open, then close it', () =>
      probe.run(
        `open d ${device.cdev}`,
        'iommufd i',
        'bind d i',
        `sysfs-write-bg /sys/bus/pci/drivers/vfio-pci/unbind ${device.bdf}`,
        'wait-bg bg 1500',
        `exists ${device.cdev}`,
        `open d2 ${device.cdev}`,
        'get-info d',
        'close d',
        'wait-bg bg 10000',
      ),
    );
    const [, , bind, , blocked, node, reopen, info, close, finished] = out;
    expect.errno(bind, 'ok', 'BIND');
    expect(blocked?.finished, 'unbind finished while the FD was open').toBe(false);
    expect(node?.exists, `${device.cdev} exists during the unbind`).toBe(false);
    expect.errno(reopen, 'ENOENT', 'open of the cdev during the unbind');
    expect.errno(info, 'ok', 'GET_INFO on the held FD during the unbind');
    expect.errno(close, 'ok', 'close the FD');
    expect(finished?.finished, 'unbind finished after close').toBe(true);
    expect.errno(finished, 'ok', 'the unbind write');
  },
);
