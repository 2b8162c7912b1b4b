/* Steps on the legacy group/container interface, needed to show that the
 * group path and the cdev path exclude each other. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include <linux/vfio.h>

#include "json.h"
#include "ops.h"
#include "result.h"

static void open_into(struct htab *h, const char *name, const char *path)
{
	struct sysret r = sysret_of(open(path, O_RDWR | O_CLOEXEC));

	htab_put(h, name, H_FD)->val = r.ret;
	emit_sysret(r);
	json_kv_string("path", path);
}

void op_group_open(struct htab *h, const struct step *s)
{
	char path[256];

	snprintf(path, sizeof(path), "/dev/vfio/%s", s->pos[1]);
	open_into(h, s->pos[0], path);
}

void op_container_open(struct htab *h, const struct step *s)
{
	open_into(h, s->pos[0], "/dev/vfio/vfio");
}

void op_group_set_container(struct htab *h, const struct step *s)
{
	int container = step_fd(h, s, 1);

	emit_sysret(sysret_of(ioctl(step_fd(h, s, 0), VFIO_GROUP_SET_CONTAINER, &container)));
}

void op_set_iommu(struct htab *h, const struct step *s)
{
	/* VFIO_SET_IOMMU takes the type by value, not by pointer. */
	emit_sysret(sysret_of(ioctl(step_fd(h, s, 0), VFIO_SET_IOMMU,
				    (unsigned long)step_num(s, 1))));
}

void op_group_get_device(struct htab *h, const struct step *s)
{
	struct sysret r = sysret_of(ioctl(step_fd(h, s, 1), VFIO_GROUP_GET_DEVICE_FD,
					  s->pos[2]));

	htab_put(h, s->pos[0], H_FD)->val = r.ret;
	emit_sysret(r);
}
