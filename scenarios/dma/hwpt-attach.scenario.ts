// S6 on a VMM's path: the device is attached to a HWPT it allocated on the IOAS (IOMMU_HWPT_ALLOC,
// as QEMU 10 does), not to the IOAS itself, and must see exactly the IOAS's mappings through it.
import { bound, canary, identifyLanded, iova, mappedBuffer, nvmeEnabled, parseDmarFaults, scenario } from '../../lab/src/api.ts';

/** enum iommu_hw_info_type in <linux/iommufd.h>. */
const IOMMU_HW_INFO_TYPE_INTEL_VTD = 1;

export default scenario(
  'hwpt-attach-maps-exactly-the-ioas',
  {
    devices: ['nvme'],
    machines: ['default', 'pt'],
    tags: ['dma', 'S6', 'escape', 'hwpt'],
    concern: {
      text: 'A HWPT allocated on an IOAS (IOMMU_HWPT_ALLOC, the path a VMM takes) must carry exactly the IOAS’s mappings — those made before it existed (also when another HWPT already holds them) and those made after: a device attached to it reaches the mapped IOVAs and faults everywhere else (with iommu=pt, a device not really moved into the HWPT would reach a canary’s GPA); a HWPT in use cannot be destroyed.',
      ref: 'iommufd_hwpt_alloc() / iommufd_hwpt_paging_alloc() (drivers/iommu/iommufd/hw_pagetable.c, Linux 6.6); QEMU hw/vfio/iommufd.c iommufd_cdev_autodomains_get()',
    },
  },
  async ({ probe, vm, device, expect, expectFault, step }) => {
    const r = await step('GET_HW_INFO; two HWPTs on an IOAS that already maps t, ATTACH to the second; Identify into t, then at an unmapped canary', () =>
      probe.run(
        ...bound(device.cdev),
        { hwInfo: 'hw-info i d.devid' },
        // t is mapped before any HWPT exists. The IOAS's first HWPT gets it from user memory (pinned);
        // a second one must get it copied from the first, and the device uses the second.
        ...mappedBuffer('t', iova.target, { fill: 0xaa }),
        { firstHwpt: 'hwpt-alloc i h0 d.devid a', hwpt: 'hwpt-alloc i h d.devid a', attach: 'attach d h' },
        // The admin queues are mapped after ATTACH: later mappings must reach the HWPT too.
        nvmeEnabled(),
        { identify: `nvme-identify d ${iova.target}`, check: 'buf-check t' },
        { canary: canary('c') },
        { stray: 'nvme-identify d c.gpa', strayCheck: 'buf-check c' },
        { destroyInUse: 'destroy i h', detach: 'detach d', destroy: 'destroy i h', destroyFirst: 'destroy i h0' },
      ),
    );
    expect.errno(r.bind, 'ok', 'BIND');
    expect.errno(r.hwInfo, 'ok', 'IOMMU_GET_HW_INFO');
    expect(r.hwInfo.out_data_type, 'IOMMU_GET_HW_INFO data type (1 = IOMMU_HW_INFO_TYPE_INTEL_VTD)').toBe(IOMMU_HW_INFO_TYPE_INTEL_VTD);
    expect.errno(r.map, 'ok', 'IOAS_MAP of t before any HWPT exists');
    expect.errno(r.firstHwpt, 'ok', 'IOMMU_HWPT_ALLOC of the IOAS’s first HWPT');
    expect.errno(r.hwpt, 'ok', 'IOMMU_HWPT_ALLOC of a second HWPT on the IOAS');
    expect.errno(r.attach, 'ok', 'ATTACH to the HWPT');
    expect(r.attach.pt_id, 'ATTACH keeps the HWPT id it was given').toBe(r.hwpt.out_hwpt_id ?? -1);
    expect(r.enable.rdy, 'controller ready').toBe(true);
    expect(r.identify.completed, 'Identify completed (its queues were mapped after ATTACH)').toBe(true);
    expect(identifyLanded(r.check), `Identify landed in t, mapped before either HWPT existed; got ${String(r.check.hex).slice(0, 16)}… "${String(r.check.ascii).trim()}"`).toBe(true);
    const gpa = String(r.canary.gpa);
    expect(r.strayCheck.changed, `canary at GPA ${gpa} changed`).toBe(false);
    expectFault({ device: 'nvme', access: 'write', address: gpa });
    const faults = parseDmarFaults(await vm.dmesg()).filter((f) => f.access === 'write' && BigInt(f.address) === BigInt(gpa));
    expect(faults.length > 0, `a DMAR write fault at the canary's address ${gpa}`).toBe(true);
    expect.errno(r.destroyInUse, 'EBUSY', 'DESTROY of the HWPT while the device is attached to it');
    expect.errno(r.detach, 'ok', 'DETACH');
    expect.errno(r.destroy, 'ok', 'DESTROY of the HWPT once nothing uses it');
    expect.errno(r.destroyFirst, 'ok', 'DESTROY of the first HWPT, never attached');
  },
);
