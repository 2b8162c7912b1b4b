// Probe step snippets shared by the DMA scenarios (not a scenario: the loader reads *.scenario.ts).
// IOVAs are arbitrary, page-aligned and below the MSI window.

export const iova = { sq: '0x100000', cq: '0x101000', target: '0x200000', txRing: '0x300000', rxRing: '0x301000', txBuf: '0x302000', rxBuf: '0x303000' };

/** Open the cdev, bind it to a new iommufd and allocate an IOAS: handles d, i, a. */
export const bound = (cdev: string) => [`open d ${cdev}`, 'iommufd i', 'bind d i', 'ioas-alloc i a'];

/**
 * Bound, attached, a buffer `t` (filled with 0xaa) mapped at iova.target, the controller enabled
 * with its admin queues mapped: ready for `nvme-identify d <iova>`. Steps 0-7 of the script.
 */
export const readyForIdentify = (cdev: string) => [...bound(cdev), 'attach d a', 'buf t 4096 fill=0xaa', `map-buf i a t ${iova.target}`, `nvme-enable d i a ${iova.sq} ${iova.cq}`];

/** The NVMe controller's first 64 bytes of Identify Controller data start with PCI VID 0x1b36 (LE). */
export const identifyLanded = (check: Record<string, unknown> | undefined) =>
  String(check?.hex ?? '').startsWith('361b') && String(check?.ascii ?? '').includes('QEMU NVMe Ctrl');
