// A large IOAS_MAP translates every IOVA to the page at the same offset of the user buffer, also
// past the first chunk iommufd pins: a VMM maps its guest's RAM in mappings of many MiB, the
// other scenarios map a page or two.
import { attached, nvmeEnabled, scenario, type Outcome } from '../../lab/src/api.ts';

const MiB = 0x10_0000;
const hex = (n: number) => `0x${n.toString(16)}`;
/** Clear of the admin queues (1 MiB) and of the other scenarios' targets. */
const base = 64 * MiB;
/**
 * iommufd pins a mapping's pages in chunks of one 64 KiB array of page pointers (8192 pages,
 * 32 MiB; pages.c, TEMP_MEMORY_LIMIT) and fills its batches from that array: 40 MiB takes two.
 */
const size = 40 * MiB;

export default scenario(
  'large-mapping-translates-every-page',
  {
    devices: ['nvme'],
    tags: ['dma', 'S6', 'vmm-path'],
    concern: {
      text: 'An IOAS_MAP of many MiB must send the device’s DMA at IOVA base+OFF to byte OFF of the mapped buffer for every OFF: a pinning chunk or batch taken from the wrong part of the buffer would put the data elsewhere in user memory with no fault.',
      ref: 'iopt_map_user_pages() / pfn_reader_user_pin() and pfn_reader_fill_span() in drivers/iommu/iommufd/pages.c',
    },
  },
  async ({ probe, device, expect, step }) => {
    const r = await step(`a ${size / MiB} MiB buffer mapped at ${hex(base)}; Identify into its first page, the first page past 32 MiB and its last page`, () =>
      probe.run(
        ...attached(device.cdev),
        `buf L ${size} fill=0xaa`,
        { map: `map-buf i a L ${hex(base)}` },
        nvmeEnabled(),
        { first: `nvme-identify d ${hex(base)}` },
        { firstCheck: 'buf-check L' },
        'buf-fill L',
        { past: `nvme-identify d ${hex(base + 32 * MiB)}` },
        { pastCheck: 'buf-check L' },
        'buf-fill L',
        { last: `nvme-identify d ${hex(base + size - 0x1000)}` },
        { lastCheck: 'buf-check L' },
      ),
    );
    expect.errno(r.map, 'ok', `IOAS_MAP of ${size / MiB} MiB`);
    expect(r.enable.rdy, 'controller ready').toBe(true);
    const landed = (what: string, id: Outcome<'nvme-identify'>, check: Outcome<'buf-check'>, offset: number) => {
      expect(id.completed, `Identify into ${what} completed`).toBe(true);
      expect(check.first_changed_offset, `${what}: first byte the device wrote, as an offset in the buffer (expected ${hex(offset)})`).toBe(offset);
      // Identify Controller writes one page; its data has bytes equal to the fill too.
      const changed = check.changed_bytes ?? 0;
      expect(changed > 0 && changed <= 4096, `${what}: bytes changed (${String(check.changed_bytes)}), at most the one page`).toBe(true);
    };
    landed('the first page', r.first, r.firstCheck, 0);
    landed('the first page past 32 MiB', r.past, r.pastCheck, 32 * MiB);
    landed('the last page', r.last, r.lastCheck, size - 0x1000);
  },
);
