// S5: ownership of an IOMMU group shared by two functions.
import { openBound, scenario } from '../../lab/src/api.ts';

export default scenario(
  'shared-group-has-one-owner',
  {
    devices: ['nvme', 'e1000'],
    machine: 'shared-slot',
    tags: ['cdev', 'ownership', 'S5'],
    concern: {
      text: 'DMA ownership is per IOMMU group: the functions of one group can only be bound to one iommufd, kernel drivers are kept off a user-owned group, and the group has one address space.',
      ref: 'iommu: "Add DMA ownership management interfaces" (Lu Baolu, Linux 5.19); iommufd_device_bind()',
    },
  },
  async ({ probe, devices, expect, step, skip }) => {
    const nvme = devices.nvme!;
    const e1000 = devices.e1000!;
    if (nvme.group !== e1000.group) skip(`the functions do not share an IOMMU group here (nvme in ${nvme.group}, e1000 in ${e1000.group})`);

    await step('bind both functions: another iommufd is refused, the same one is accepted', async () => {
      const r = await probe.run(`open d1 ${nvme.cdev}`, `open d2 ${e1000.cdev}`, { i1: 'iommufd i1', i2: 'iommufd i2', b1: 'bind d1 i1', b2other: 'bind d2 i2', b2same: 'bind d2 i1' });
      expect.errno(r.i1, 'ok', 'first iommufd');
      expect.errno(r.i2, 'ok', 'second iommufd');
      expect.errno(r.b1, 'ok', 'BIND nvme to iommufd 1');
      expect.errno(r.b2other, 'EPERM', 'BIND e1000 (same group) to iommufd 2');
      expect.errno(r.b2same, 'ok', 'BIND e1000 to iommufd 1');
    });

    await step('two IOAS for one group: the second ATTACH is refused', async () => {
      const r = await probe.run(
        `open d1 ${nvme.cdev}`,
        `open d2 ${e1000.cdev}`,
        'iommufd i',
        'bind d1 i',
        'bind d2 i',
        'ioas-alloc i a1',
        'ioas-alloc i a2',
        { nvme: 'attach d1 a1', otherIoas: 'attach d2 a2', sameIoas: 'attach d2 a1' },
      );
      expect.errno(r.nvme, 'ok', 'ATTACH nvme to IOAS 1');
      expect.errno(r.otherIoas, 'EINVAL', 'ATTACH e1000 (same group) to IOAS 2');
      expect.errno(r.sameIoas, 'ok', 'ATTACH e1000 to IOAS 1');
    });

    await step('a kernel driver cannot take a function of a user-owned group', async () => {
      const dev = `/sys/bus/pci/devices/${e1000.bdf}`;
      const r = await probe.run(
        ...openBound(nvme.cdev),
        `sysfs-write ${dev}/driver_override \\n`,
        { unbind: `sysfs-write /sys/bus/pci/drivers/vfio-pci/unbind ${e1000.bdf}`, kernelBind: `sysfs-write /sys/bus/pci/drivers/e1000/bind ${e1000.bdf}`, driver: `exists ${dev}/driver` },
      );
      expect.errno(r.bind, 'ok', 'BIND nvme (the group is now user-owned)');
      expect.errno(r.unbind, 'ok', 'unbind e1000 from vfio-pci');
      expect.errno(r.kernelBind, 'EBUSY', 'bind the e1000 kernel driver to the user-owned group');
      expect(r.driver.exists, 'e1000 has a driver afterwards').toBe(false);
    });
  },
);
