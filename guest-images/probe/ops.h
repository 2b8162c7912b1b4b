/* Step implementations. Each writes its fields ("ret", "errno", "errname",
 * then op-specific ones) into the step's already-open JSON object.
 *
 * Convention: op-specific fields are always present and null when the call
 * failed, so the host can use one shape per op.
 */
#ifndef PROBE_OPS_H
#define PROBE_OPS_H

#include "script.h"

/* ops_vfio.c */
void op_bind(struct htab *h, const struct step *s);
void op_attach(struct htab *h, const struct step *s);
void op_detach(struct htab *h, const struct step *s);
void op_get_info(struct htab *h, const struct step *s);
void op_region_info(struct htab *h, const struct step *s);
void op_read(struct htab *h, const struct step *s);
void op_write(struct htab *h, const struct step *s);
void op_mmap(struct htab *h, const struct step *s);
void op_munmap(struct htab *h, const struct step *s);
void op_parked(struct htab *h, const struct step *s);

/* ops_group.c */
void op_group_open(struct htab *h, const struct step *s);
void op_container_open(struct htab *h, const struct step *s);
void op_group_set_container(struct htab *h, const struct step *s);
void op_set_iommu(struct htab *h, const struct step *s);
void op_group_get_device(struct htab *h, const struct step *s);

/* ops_iommufd.c */
void op_iommufd(struct htab *h, const struct step *s);
void op_ioas_alloc(struct htab *h, const struct step *s);
void op_destroy(struct htab *h, const struct step *s);
void op_map(struct htab *h, const struct step *s);
void op_unmap(struct htab *h, const struct step *s);
void op_iova_ranges(struct htab *h, const struct step *s);
void op_raw_iommufd(struct htab *h, const struct step *s);

/* ops_hwpt.c */
void op_hwpt_alloc(struct htab *h, const struct step *s);
void op_hw_info(struct htab *h, const struct step *s);

/* ops_file.c */
void op_open(struct htab *h, const struct step *s);
void op_close(struct htab *h, const struct step *s);
void op_exists(struct htab *h, const struct step *s);
void op_sleep(struct htab *h, const struct step *s);
void op_sysfs_write(struct htab *h, const struct step *s);

/* ops_bg.c */
void op_sysfs_write_bg(struct htab *h, const struct step *s);
void op_wait_bg(struct htab *h, const struct step *s);

/* ops_buf.c */
void op_buf(struct htab *h, const struct step *s);
void op_buf_fill(struct htab *h, const struct step *s);
void op_buf_check(struct htab *h, const struct step *s);
void op_map_buf(struct htab *h, const struct step *s);

/* nvme.c */
void op_nvme_enable(struct htab *h, const struct step *s);
void op_nvme_identify(struct htab *h, const struct step *s);
void op_nvme_disable(struct htab *h, const struct step *s);

/* e1000.c */
void op_e1000_loopback(struct htab *h, const struct step *s);

#endif
