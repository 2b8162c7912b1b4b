/* Steps on the path a VMM takes instead of attaching to an IOAS: ask the
 * IOMMU what it is (IOMMU_GET_HW_INFO), allocate a HWPT on an IOAS
 * (IOMMU_HWPT_ALLOC) and attach the device to the HWPT's id. */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/ioctl.h>

#include <linux/iommufd.h>

#include "json.h"
#include "ops.h"
#include "result.h"
#include "scratch.h"

/* Where the driver's own info (struct iommu_hw_info_vtd on VT-d) goes:
 * behind the command struct in the same scratch page, with room for any
 * driver's struct (VT-d's is 24 bytes). */
#define HW_INFO_DATA_OFFSET 256
#define HW_INFO_DATA_LEN 256
/* Bytes of that data shown: enough for VT-d's flags, cap_reg, ecap_reg. */
#define HW_INFO_DATA_PREVIEW 64

/* hwpt-alloc IFD H DEV PTID [flags=N]: a paging HWPT on PTID (an IOAS) for
 * DEV (a device id, DEV.devid), data_type IOMMU_HWPT_DATA_NONE. H holds the
 * new id, so `attach D H` and `destroy IFD H` take it like an IOAS's. */
void op_hwpt_alloc(struct htab *h, const struct step *s)
{
	struct iommu_hwpt_alloc *a = scratch();
	struct sysret r;

	a->size = sizeof(*a);
	a->flags = (uint32_t)s->flags;
	a->dev_id = step_id(h, s, 2);
	a->pt_id = step_id(h, s, 3);
	a->data_type = IOMMU_HWPT_DATA_NONE;
	r = sysret_of(ioctl(step_fd(h, s, 0), IOMMU_HWPT_ALLOC, a));
	/* 0 on failure: iommufd never allocates object id 0. */
	htab_put(h, s->pos[1], H_ID)->val = r.ret == 0 ? (long long)a->out_hwpt_id : 0;
	emit_sysret(r);
	json_key("out_hwpt_id");
	if (r.ret == 0)
		json_uint(a->out_hwpt_id);
	else
		json_null();
}

/* hw-info IFD DEV: IOMMU_GET_HW_INFO for DEV (a device id). */
void op_hw_info(struct htab *h, const struct step *s)
{
	unsigned char *page = scratch();
	struct iommu_hw_info *q = (struct iommu_hw_info *)page;
	unsigned char *data = page + HW_INFO_DATA_OFFSET;
	struct sysret r;

	q->size = sizeof(*q);
	q->dev_id = step_id(h, s, 1);
	q->data_len = HW_INFO_DATA_LEN;
	q->data_uptr = (uintptr_t)data;
	r = sysret_of(ioctl(step_fd(h, s, 0), IOMMU_GET_HW_INFO, q));
	emit_sysret(r);
	if (r.ret != 0) {
		json_kv_null("out_data_type");
		json_kv_null("data_len");
		json_kv_null("out_capabilities");
		json_kv_null("data_hex");
		return;
	}
	json_kv_uint("out_data_type", q->out_data_type);
	/* The kernel writes back the length of its whole struct, which may
	 * be more than it copied (it copies at most what we offered). */
	json_kv_uint("data_len", q->data_len);
	json_kv_hex("out_capabilities", q->out_capabilities);
	json_key("data_hex");
	json_hexbytes(data, q->data_len < HW_INFO_DATA_PREVIEW ? q->data_len : HW_INFO_DATA_PREVIEW);
}
