/* Steps on a VFIO device fd: the iommufd binding ioctls, device queries,
 * region access through read/write/mmap. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "json.h"
#include "ops.h"
#include "parked.h"
#include "result.h"
#include "scratch.h"

/* How many data bytes a read step shows: enough for a register block or an
 * ID header, short enough to keep reports readable. */
#define HEX_PREVIEW 64

static void *ioctl_arg(const struct step *s, void *buf)
{
	return (s->opts & OPT_NULL) ? NULL : buf;
}

static uint32_t argsz_for(const struct step *s, size_t size)
{
	return (s->opts & OPT_ARGSZ) ? (uint32_t)s->argsz : (uint32_t)size;
}

void op_bind(struct htab *h, const struct step *s)
{
	struct vfio_device_bind_iommufd *b = scratch();
	struct handle *hd;
	struct sysret r;
	char name[256];

	b->argsz = argsz_for(s, sizeof(*b));
	b->flags = (uint32_t)s->flags;
	b->iommufd = step_fd(h, s, 1);
	r = sysret_of(ioctl(step_fd(h, s, 0), VFIO_DEVICE_BIND_IOMMUFD, ioctl_arg(s, b)));

	/* Stored even on failure (as 0, an id iommufd never allocates) so a
	 * later destroy of "DEV.devid" still runs and reports ENOENT. */
	snprintf(name, sizeof(name), "%s.devid", s->pos[0]);
	hd = htab_put(h, name, H_ID);
	hd->val = r.ret == 0 ? (long long)b->out_devid : 0;

	emit_sysret(r);
	json_key("out_devid");
	if (r.ret == 0)
		json_uint(b->out_devid);
	else
		json_null();
}

void op_attach(struct htab *h, const struct step *s)
{
	struct vfio_device_attach_iommufd_pt *a = scratch();
	struct sysret r;

	a->argsz = argsz_for(s, sizeof(*a));
	a->flags = (uint32_t)s->flags;
	a->pt_id = step_id(h, s, 1);
	r = sysret_of(ioctl(step_fd(h, s, 0), VFIO_DEVICE_ATTACH_IOMMUFD_PT, ioctl_arg(s, a)));
	emit_sysret(r);
	/* Reported regardless of the result: on success the kernel may have
	 * replaced an IOAS id by the id of the HWPT it created. */
	json_kv_uint("pt_id", a->pt_id);
}

void op_detach(struct htab *h, const struct step *s)
{
	struct vfio_device_detach_iommufd_pt *d = scratch();

	d->argsz = argsz_for(s, sizeof(*d));
	d->flags = (uint32_t)s->flags;
	emit_sysret(sysret_of(ioctl(step_fd(h, s, 0), VFIO_DEVICE_DETACH_IOMMUFD_PT,
				    ioctl_arg(s, d))));
}

void op_get_info(struct htab *h, const struct step *s)
{
	struct vfio_device_info *info = scratch();
	struct sysret r;

	info->argsz = sizeof(*info);
	r = sysret_of(ioctl(step_fd(h, s, 0), VFIO_DEVICE_GET_INFO, info));
	emit_sysret(r);
	if (r.ret == 0) {
		json_kv_uint("flags", info->flags);
		json_kv_uint("num_regions", info->num_regions);
		json_kv_uint("num_irqs", info->num_irqs);
	} else {
		json_kv_null("flags");
		json_kv_null("num_regions");
		json_kv_null("num_irqs");
	}
}

void op_region_info(struct htab *h, const struct step *s)
{
	struct vfio_region_info *ri = scratch();
	struct sysret r;

	ri->argsz = sizeof(*ri);
	ri->index = (uint32_t)step_num(s, 1);
	r = sysret_of(ioctl(step_fd(h, s, 0), VFIO_DEVICE_GET_REGION_INFO, ri));
	emit_sysret(r);
	if (r.ret == 0) {
		json_kv_uint("size", ri->size);
		json_kv_hex("offset", ri->offset);
		json_kv_uint("flags", ri->flags);
	} else {
		json_kv_null("size");
		json_kv_null("offset");
		json_kv_null("flags");
	}
}

static void emit_buffer_failure(void)
{
	/* The syscall under test never ran; "stage" says so. */
	emit_sysret(sysret_of(-1));
	json_kv_string("stage", "buffer");
}

static void rw(struct htab *h, const struct step *s, int writing)
{
	unsigned long long off = step_num(s, 1);
	size_t len = (size_t)step_num(s, 2);
	unsigned char *buf = calloc(len ? len : 1, 1);
	struct sysret r;
	int fd = step_fd(h, s, 0);

	if (!buf) {
		emit_buffer_failure();
		json_kv_null("bytes");
		if (!writing)
			json_kv_null("hex");
		return;
	}
	/* Writes send zeros: the sweep-style checks only care whether the
	 * access is allowed, and zeros are the least surprising payload. */
	if (writing)
		r = sysret_of(pwrite(fd, buf, len, (off_t)off));
	else
		r = sysret_of(pread(fd, buf, len, (off_t)off));
	emit_sysret(r);
	json_kv_null("stage");
	json_key("bytes");
	if (r.ret >= 0)
		json_int(r.ret);
	else
		json_null();
	if (!writing) {
		json_key("hex");
		if (r.ret >= 0)
			json_hexbytes(buf, r.ret < HEX_PREVIEW ? (size_t)r.ret : HEX_PREVIEW);
		else
			json_null();
	}
	free(buf);
}

void op_read(struct htab *h, const struct step *s) { rw(h, s, 0); }
void op_write(struct htab *h, const struct step *s) { rw(h, s, 1); }

void op_mmap(struct htab *h, const struct step *s)
{
	size_t len = (size_t)step_num(s, 2);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       step_fd(h, s, 0), (off_t)step_num(s, 1));
	struct sysret r = { p == MAP_FAILED ? -1 : 0, p == MAP_FAILED ? errno : 0 };
	struct handle *hd;
	char name[256];

	snprintf(name, sizeof(name), "%s.map", s->pos[0]);
	hd = htab_put(h, name, H_MAP);
	hd->addr = p;
	hd->len = len;
	emit_sysret(r);
}

void op_munmap(struct htab *h, const struct step *s)
{
	char name[256];
	struct handle *hd;
	struct sysret r;

	snprintf(name, sizeof(name), "%s.map", s->pos[0]);
	hd = htab_get(h, name);
	/* A failed mmap left MAP_FAILED, which munmap rejects with EINVAL:
	 * the step still makes its syscall, as every step does. */
	r = sysret_of(munmap(hd->addr, hd->len));
	if (r.ret == 0)
		hd->addr = MAP_FAILED;
	emit_sysret(r);
}

void op_parked(struct htab *h, const struct step *s)
{
	struct sysret ran = { 0, 0 };

	emit_sysret(ran);
	json_key("ops");
	parked_emit_swept(parked_sweep(step_fd(h, s, 0)));
}
