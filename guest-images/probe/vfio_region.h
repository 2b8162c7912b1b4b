/* File offset of a vfio-pci region.
 *
 * vfio-pci places region N at N << 40 in the device fd's file offset space
 * (VFIO_PCI_OFFSET_SHIFT in drivers/vfio/pci/vfio_pci_priv.h). That constant
 * is kernel-internal, not uAPI: user space is meant to learn offsets from
 * VFIO_DEVICE_GET_REGION_INFO. A parked fd cannot answer GET_REGION_INFO,
 * yet the sweep must aim its reads and writes at real regions (BAR0, config
 * space) so that an access check missing in one region shows up. Hence the
 * encoding is reproduced here, in one place.
 */
#ifndef PROBE_VFIO_REGION_H
#define PROBE_VFIO_REGION_H

#include <stdint.h>

#define PROBE_VFIO_PCI_OFFSET_SHIFT 40

static inline uint64_t vfio_pci_region_offset(unsigned int index)
{
	return (uint64_t)index << PROBE_VFIO_PCI_OFFSET_SHIFT;
}

#endif
