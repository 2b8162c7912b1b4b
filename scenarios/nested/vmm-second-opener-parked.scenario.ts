// The seed concern (S1/S4) with a real VMM as the first opener: while QEMU holds the device, a
// second open of the cdev is parked for good and the group is closed to everyone.
import { openBound, scenario, sweepGaps } from '../../lab/src/api.ts';
import { quitVmm, startVmm, stopVmm } from './vmm.ts';

export default scenario(
  'vmm-second-opener-stays-parked',
  {
    devices: ['nvme'],
    machine: 'vmm',
    image: 'vmm',
    tags: ['nested', 'vmm', 'cdev', 'parked'],
    timeoutMs: 90_000,
    requiresConfig: ['CONFIG_VFIO_GROUP'],
    concern: {
      text: 'While a VMM has the device bound, a second opener of the cdev must stay parked — every operation EINVAL, BIND EINVAL — and the group must refuse to open (EBUSY); the VMM must not notice.',
      ref: 'vfio: "Add cdev for vfio_device" series (Yi Liu, Linux 6.6): vfio_df_open() refuses a second cdev open_count, vfio_device_block_group()',
    },
  },
  async ({ vm, probe, device, expect, step, defer }) => {
    defer('the VMM and what it holds', async () => {
      await stopVmm(vm);
    });
    await step(`QEMU 10 holds ${device.bdf} over iommufd`, () => startVmm(vm, device.bdf));

    const report = await step('a second open of the cdev: the parked sweep', async () => {
      const r = await probe.parked(device.cdev);
      expect.errno(r.open, 'ok', 'second open of the cdev');
      const through = r.ops.filter((op) => op.errname !== 'EINVAL').map((op) => `${op.name}: ${op.errname}`);
      expect(through, 'operations that got past the parked second FD').toEqual([]);
      expect.errno(r.close ?? undefined, 'ok', 'close');
      return r;
    });
    expect(report.swept && sweepGaps(report.ops, report.swept), 'operations tried against the sweep the probe reports').toEqual([]);

    await step('the second opener cannot BIND, and the group stays shut', async () => {
      const r = await probe.run(...openBound(device.cdev), { info: 'get-info d', group: `group-open g ${device.group}` });
      expect.errno(r.open, 'ok', 'open the cdev');
      expect.errno(r.iommufd, 'ok', 'open /dev/iommu');
      expect.errno(r.bind, 'EINVAL', 'BIND while the VMM has the device bound');
      expect.errno(r.info, 'EINVAL', 'GET_INFO on the unbound second FD');
      expect.errno(r.group, 'EBUSY', `open /dev/vfio/${device.group} while the VMM has the cdev bound`);
    });

    await step('the VMM still answers and quits cleanly', async () => {
      const answer = (await vm.exec("vmm qtest 'readl 0x0'")).stdout.trim();
      expect(answer.startsWith('OK'), `qtest answer after the second opener: ${answer}`).toBe(true);
      const out = await quitVmm(vm);
      expect(out.startsWith('exited after'), `vmm quit: ${out}`).toBe(true);
    });
    await stopVmm(vm);

    await step('once the VMM is gone the group opens again', async () => {
      const r = await probe.run({ group: `group-open g ${device.group}` });
      expect.errno(r.group, 'ok', `open /dev/vfio/${device.group} after the VMM exited`);
    });
  },
);
