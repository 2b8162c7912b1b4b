// S8: unbinding the driver waits for the user, and the cdev disappears at once.
import { childResult, openBound, scenario } from '../../lab/src/api.ts';

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
    const r = await step('unbind from vfio-pci with a bound FD open, then close it', () =>
      probe.run(...openBound(device.cdev), `sysfs-write-bg /sys/bus/pci/drivers/vfio-pci/unbind ${device.bdf}`, {
        // An unbind nobody holds up is over within a bind script's ~90 ms round trip under TCG: 500 ms (×4) is ample.
        blocked: 'wait-bg bg 500',
        node: `exists ${device.cdev}`,
        reopen: `open d2 ${device.cdev}`,
        info: 'get-info d',
        close: 'close d',
        finished: 'wait-bg bg 10000',
      }),
    );
    expect.errno(r.bind, 'ok', 'BIND');
    expect(r.blocked.finished, 'unbind finished while the FD was open').toBe(false);
    expect(r.node.exists, `${device.cdev} exists during the unbind`).toBe(false);
    expect.errno(r.reopen, 'ENOENT', 'open of the cdev during the unbind');
    expect.errno(r.info, 'ok', 'GET_INFO on the held FD during the unbind');
    expect.errno(r.close, 'ok', 'close the FD');
    expect(r.finished.finished, 'unbind finished after close').toBe(true);
    expect.errno(childResult(r.finished), 'ok', 'the unbind write');
  },
);
