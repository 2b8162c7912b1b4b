// S6g: a second ATTACH replaces the device's IOAS; its DMA must follow, at once and entirely.
import { attached, identifyLanded, iova, mappedBuffer, nvmeEnabled, scenario } from '../../lab/src/api.ts';

export default scenario(
  'replace-moves-dma-to-the-new-ioas',
  {
    devices: ['nvme'],
    machines: ['default', 'caching-mode'],
    tags: ['dma', 'S6', 'replace'],
    concern: {
      text: 'ATTACH on an attached device replaces its IOAS (iommufd_device_replace): from then on its DMA must translate only through the new IOAS — the same IOVA must reach the new page, never the old one — and the old IOAS must be free, not held by a page table the device left behind.',
      ref: 'vfio_iommufd_physical_attach_ioas() → iommufd_device_replace() (drivers/iommu/iommufd/device.c, Linux 6.6+); iommu_group_replace_domain()',
    },
  },
  async ({ probe, device, expect, step }) => {
    // Both IOASes map the same IOVAs: the target to a page of their own, the admin queues to the
    // same queue pages, so the controller keeps running across the replace and only the target
    // page tells which IOAS translated the Identify.
    const r = await step('Identify through IOAS a; replace with IOAS b mapping the same IOVA elsewhere; Identify again', () =>
      probe.run(
        ...attached(device.cdev),
        ...mappedBuffer('t', iova.target, { fill: 0xaa }),
        nvmeEnabled(),
        { first: `nvme-identify d ${iova.target}`, landedA: 'buf-check t' },
        { ioasB: 'ioas-alloc i b' },
        'buf u 4096 fill=0xbb',
        { mapB: `map-buf i b u ${iova.target}`, sqB: `map-buf i b d.sq ${iova.sq}`, cqB: `map-buf i b d.cq ${iova.cq}` },
        { refill: 'buf-fill t fill=0xaa' },
        { replace: 'attach d b' },
        { second: `nvme-identify d ${iova.target}`, newPage: 'buf-check u', oldPage: 'buf-check t' },
        { destroyB: 'destroy i b', destroyA: 'destroy i a' },
      ),
    );
    expect.errno(r.attach, 'ok', 'ATTACH to IOAS a');
    expect(r.enable.rdy, 'controller ready').toBe(true);
    expect(identifyLanded(r.landedA), 'Identify landed in IOAS a’s page before the replace').toBe(true);
    expect.errno(r.ioasB, 'ok', 'IOAS_ALLOC b');
    expect.errno(r.mapB, 'ok', 'MAP of the target page in b');
    expect.errno(r.sqB, 'ok', 'MAP of the admin SQ in b');
    expect.errno(r.cqB, 'ok', 'MAP of the admin CQ in b');
    expect.errno(r.replace, 'ok', 'ATTACH to IOAS b on the attached device (replace)');
    expect(r.second.completed, 'Identify completed after the replace').toBe(true);
    expect(r.second.status, 'status of the Identify after the replace (0 = success)').toBe(0);
    expect(identifyLanded(r.newPage), `Identify at IOVA ${iova.target} landed in IOAS b’s page`).toBe(true);
    expect(r.oldPage.changed, `IOAS a’s page at the same IOVA was written after the replace (first changed byte at ${r.oldPage.first_changed_offset})`).toBe(false);
    expect.errno(r.destroyB, 'EBUSY', 'DESTROY of IOAS b, which the device is attached to');
    expect.errno(r.destroyA, 'ok', 'DESTROY of IOAS a, which the replace released');
  },
);
