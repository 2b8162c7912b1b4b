// S5: ownership of an IOMMU group shared by two functions.
import { scenario } from '../../lab/src/api.ts';

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
      const [, , i1, i2, b1, b2other, b2same] = await probe.run(`open d1 ${nvme.cdev}`, `open d2 ${e1000.cdev}`, 'iommufd i1', 'iommufd i2', 'bind d1 i1', 'bind d2 i2', 'bind d2 i1');
      expect.errno(i1, 'ok', 'first iommufd');
      expect.errno(i2, 'ok', 'second iommufd');
      expect.errno(b1, 'ok', 'BIND nvme to iommufd 1');
      expect.errno(b2other, 'EPERM', 'BIND e1000 (same group) to iommufd 2');
      expect.errno(b2same, 'ok', 'BIND e1000 to iommufd 1');
    });

    await step('two IOAS for one group: the second ATTACH is refused', async () => {
      const out = await probe.run(`open d1 ${nvme.cdev}`, `open d2 ${e1000.cdev}`, 'iommufd i', 'bind d1 i', 'bind d2 i', 'ioas-alloc i a1', 'ioas-alloc i a2', 'attach d1 a1', 'attach d2 a2', 'attach d2 a1');
      expect.errno(out[7], 'ok', 'ATTACH nvme to IOAS 1');
      expect.errno(out[8], 'EINVAL', 'ATTACH e1000 (same group) to IOAS 2');
      expect.errno(out[9], 'ok', 'ATTACH e1000 to IOAS 1');
    });

    await step('a kernel driver cannot take a function of a user-owned group', async () => {
      const dev = `/sys/bus/pci/devices/${e1000.bdf}`;
      const out = await probe.run(
        `open d1 ${nvme.cdev}`,
        'iommufd i',
        'bind d1 i',
        `sysfs-write ${dev}/driver_override \\n`,
        `sysfs-write /sys/bus/pci/drivers/vfio-pci/unbind ${e1000.bdf}`,
        `sysfs-write /sys/bus/pci/drivers/e1000/bind ${e1000.bdf}`,
        `exists ${dev}/driver`,
      );
      expect.errno(out[2], 'ok', 'BIND nvme (the group is now user-owned)');
      expect.errno(out[4], 'ok', 'unbind e1000 from vfio-pci');
      expect.errno(out[5], 'EBUSY', 'bind the e1000 kernel driver to the user-owned group');
      expect(out[6]?.exists, 'e1000 has a driver afterwards').toBe(false);
    });
  },
);
