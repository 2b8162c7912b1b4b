/* `vfio-probe info`: the PCI devices the guest sees, with their driver,
 * IOMMU group and VFIO cdev, so the host can find its targets. */
#ifndef PROBE_INFO_H
#define PROBE_INFO_H

/* Returns the exit status. */
int info_main(void);

#endif
