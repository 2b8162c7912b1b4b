// S4: the legacy group path and the cdev path exclude each other.
import { openBound, scenario } from '../../lab/src/api.ts';

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
      const r = await probe.run({ group: `group-open g ${group}` }, ...openBound(device.cdev));
      expect.errno(r.group, 'ok', `open /dev/vfio/${group}`);
      expect.errno(r.open, 'ok', 'open the cdev');
      expect.errno(r.iommufd, 'ok', 'open /dev/iommu');
      expect.errno(r.bind, 'EBUSY', 'BIND while the group is open');
    });
    await step('cdev bound first: opening the group is refused', async () => {
      const r = await probe.run(...openBound(device.cdev), { group: `group-open g ${group}` });
      expect.errno(r.open, 'ok', 'open the cdev');
      expect.errno(r.iommufd, 'ok', 'open /dev/iommu');
      expect.errno(r.bind, 'ok', 'BIND');
      expect.errno(r.group, 'EBUSY', `open /dev/vfio/${group} while the cdev is bound`);
    });
    await step('a device FD from the group works at once and refuses BIND and ATTACH', async () => {
      const r = await probe.run({
        group: `group-open g ${group}`,
        container: 'container-open c',
        setContainer: 'group-set-container g c',
        setIommu: 'set-iommu c 3',
        getDevice: `group-get-device f g ${device.bdf}`,
        info: 'get-info f',
        iommufd: 'iommufd i',
        ioas: 'ioas-alloc i a',
        bind: 'bind f i',
        attach: 'attach f a',
      });
      const setup = { group: 'open the group', container: 'open the container', setContainer: 'GROUP_SET_CONTAINER', setIommu: 'SET_IOMMU (type1v2)', getDevice: 'GROUP_GET_DEVICE_FD', iommufd: 'open /dev/iommu', ioas: 'IOAS_ALLOC' } as const;
      for (const label of Object.keys(setup) as (keyof typeof setup)[]) expect.errno(r[label], 'ok', setup[label]);
      expect.errno(r.info, 'ok', 'GET_INFO on the group-path FD');
      expect.errno(r.bind, 'EINVAL', 'BIND on a group-path FD');
      expect.errno(r.attach, 'ENOTTY', 'ATTACH_IOMMUFD_PT on a group-path FD');
    });
  },
);
