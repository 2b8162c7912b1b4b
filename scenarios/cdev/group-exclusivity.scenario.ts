// S4: the legacy group path and the cdev path exclude each other.
import { scenario } from '../../lab/src/api.ts';

export default scenario(
  'group-and-cdev-exclude-each-other',
  {
    devices: ['nvme'],
    tags: ['cdev', 'group', 'S4'],
    requiresConfig: ['CONFIG_VFIO_GROUP'],
    concern: {
      text: 'A device must not be reachable through both /dev/vfio/$GROUP and its cdev at once; a group-opened device FD is already usable and must refuse the cdev-only ioctls.',
      ref: 'vfio: "Add cdev for vfio_device" series (Yi Liu, Linux 6.6): vfio_device_block_group()',
    },
  },
  async ({ probe, device, expect, step }) => {
    const group = String(device.group);
    await step('group open first: BIND on the cdev is refused', async () => {
      const [g, d, i, bind] = await probe.run(`group-open g ${group}`, `open d ${device.cdev}`, 'iommufd i', 'bind d i');
      expect.errno(g, 'ok', `open /dev/vfio/${group}`);
      expect.errno(d, 'ok', 'open the cdev');
      expect.errno(i, 'ok', 'open /dev/iommu');
      expect.errno(bind, 'EBUSY', 'BIND while the group is open');
    });
    await step('cdev bound first: opening the group is refused', async () => {
      const [d, i, bind, g] = await probe.run(`open d ${device.cdev}`, 'iommufd i', 'bind d i', `group-open g ${group}`);
      expect.errno(d, 'ok', 'open the cdev');
      expect.errno(i, 'ok', 'open /dev/iommu');
      expect.errno(bind, 'ok', 'BIND');
      expect.errno(g, 'EBUSY', `open /dev/vfio/${group} while the cdev is bound`);
    });
    await step('a device FD from the group works at once and refuses BIND and ATTACH', async () => {
      const [g, c, set, iommu, f, info, i, a, bind, attach] = await probe.run(
        `group-open g ${group}`,
        'container-open c',
        'group-set-container g c',
        'set-iommu c 3',
        `group-get-device f g ${device.bdf}`,
        'get-info f',
        'iommufd i',
        'ioas-alloc i a',
        'bind f i',
        'attach f a',
      );
      for (const [r, label] of [[g, 'open the group'], [c, 'open the container'], [set, 'GROUP_SET_CONTAINER'], [iommu, 'SET_IOMMU (type1v2)'], [f, 'GROUP_GET_DEVICE_FD'], [i, 'open /dev/iommu'], [a, 'IOAS_ALLOC']] as const) expect.errno(r, 'ok', label);
      expect.errno(info, 'ok', 'GET_INFO on the group-path FD');
      expect.errno(bind, 'EINVAL', 'BIND on a group-path FD');
      expect.errno(attach, 'ENOTTY', 'ATTACH_IOMMUFD_PT on a group-path FD');
    });
  },
);
