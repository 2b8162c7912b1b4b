// Machine profiles: what the guest looks like, as typed data. Variants are small overrides of
// the default, named so scenarios and the CLI can ask for them.
import { z } from 'zod';
import { awBitsSchema, qemuTargetSchema, systemQemu } from './target.ts';

export const profileSchema = z
  .object({
    name: z.string(),
    memoryMiB: z.number().int().min(128).default(512),
    cpus: z.number().int().min(1).default(1),
    iommu: z
      .object({
        intremap: z.boolean().default(true),
        cachingMode: z.boolean().default(false),
        snoopControl: z.boolean().default(false),
        /**
         * The vIOMMU's address width, stated so that every QEMU builds the same machine: intel-iommu
         * defaults to 39 bits in 7.2 and 48 in 9.2 and later, and the width is the end of every
         * IOVA range the guest reports. 39 is what the suite was first measured on.
         */
        awBits: awBitsSchema.default(39),
      })
      .strict()
      .default({ intremap: true, cachingMode: false, snoopControl: false, awBits: 39 }),
    /** The QEMU that runs this machine (--qemu), resolved at the edge; the system's by default. */
    qemu: qemuTargetSchema.default(systemQemu),
    /** Guest boots with iommu=pt: default domains are identity, so a DMA escape really lands. */
    passthrough: z.boolean().default(false),
    /** intel_iommu=on in the guest; off for the kernel selftests, whose mock IOMMU needs it off. */
    guestIommu: z.boolean().default(true),
    /** separate: nvme and e1000 in their own slots; shared-slot: functions .0 and .1 of one slot. */
    topology: z.enum(['separate', 'shared-slot']).default('separate'),
    extraDevices: z.array(z.string()).default([]),
    cmdline: z.array(z.string()).default([]),
  })
  .strict();

export type MachineProfile = z.infer<typeof profileSchema>;

const variants: Record<string, Partial<z.input<typeof profileSchema>>> = {
  default: {},
  pt: { passthrough: true },
  'caching-mode': { iommu: { intremap: true, cachingMode: true, snoopControl: false } },
  'snoop-control': { iommu: { intremap: true, cachingMode: false, snoopControl: true } },
  'intremap-off': { iommu: { intremap: false, cachingMode: false, snoopControl: false } },
  'shared-slot': { topology: 'shared-slot' },
  // The kernel's iommufd selftests: mock domains need the Intel IOMMU off (DOMAIN.md §6), and
  // the huge-page tests need 2 MiB pages reserved.
  // The vmm image's guest (L1): QEMU 10 runs in it. Measured in scenarios/nested: the
  // initramfs (61 MB unpacked, kept in RAM) plus QEMU with a 64 MiB L2 (VmHWM 106 MiB, VmPin
  // 64 MiB, measured in L1 under TCG): ~170 MiB over the default guest, with headroom.
  vmm: { memoryMiB: 768 },
  // The vmm guest with iommu=pt: L1's own default domains are identity, so a device the VMM's
  // IOAS failed to confine would really write L1 memory (scenarios/nested/vmm-dma-outside-l2-faults).
  'vmm-pt': { memoryMiB: 768, passthrough: true },
  selftest: { guestIommu: false, memoryMiB: 768, cmdline: ['hugepagesz=2M', 'hugepages=64'] },
};

export const variantNames = Object.keys(variants);

export function machineProfile(variant = 'default', overrides: Partial<z.input<typeof profileSchema>> = {}): MachineProfile {
  const base = variants[variant];
  if (!base) throw new Error(`unknown machine variant "${variant}" (known: ${variantNames.join(', ')})`);
  return profileSchema.parse({ name: variant, ...base, ...overrides });
}

/** PCI addresses of the devices under test, per topology: scenarios look devices up by them. */
export function deviceAddresses(profile: MachineProfile): { nvme: string; e1000: string; mgmt: string } {
  return profile.topology === 'shared-slot'
    ? { nvme: '0000:00:03.0', e1000: '0000:00:03.1', mgmt: '0000:00:02.0' }
    : { nvme: '0000:00:03.0', e1000: '0000:00:04.0', mgmt: '0000:00:02.0' };
}
