#define _GNU_SOURCE
#include "pci_dev.h"

#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "json.h"

static int region_info(int fd, unsigned index, struct vfio_region_info *ri,
		       struct sysret *r)
{
	memset(ri, 0, sizeof(*ri));
	ri->argsz = sizeof(*ri);
	ri->index = index;
	*r = sysret_of(ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, ri));
	return (int)r->ret;
}

int pci_dev_open(int fd, unsigned index, struct bar *b, uint16_t *command,
		 struct sysret *r, const char **stage)
{
	struct vfio_region_info bar, cfg;
	uint16_t cmd;
	void *p;

	memset(b, 0, sizeof(*b));
	b->fd = fd;
	*command = 0;
	*stage = "region-info";
	if (region_info(fd, index, &bar, r) < 0 ||
	    region_info(fd, VFIO_PCI_CONFIG_REGION_INDEX, &cfg, r) < 0)
		return -1;
	b->offset = bar.offset;
	b->size = bar.size;

	*stage = "config-read";
	*r = sysret_of(pread(fd, &cmd, sizeof(cmd), (off_t)(cfg.offset + PCI_COMMAND)));
	if (r->ret != sizeof(cmd))
		return -1;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE;
	*stage = "config-write";
	*r = sysret_of(pwrite(fd, &cmd, sizeof(cmd), (off_t)(cfg.offset + PCI_COMMAND)));
	if (r->ret != sizeof(cmd))
		return -1;
	*stage = "config-read";
	*r = sysret_of(pread(fd, &cmd, sizeof(cmd), (off_t)(cfg.offset + PCI_COMMAND)));
	if (r->ret != sizeof(cmd))
		return -1;
	*command = cmd;

	b->mmap_err = EINVAL;
	if (bar.flags & VFIO_REGION_INFO_FLAG_MMAP) {
		p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 (off_t)bar.offset);
		if (p != MAP_FAILED) {
			b->map = p;
			b->map_len = bar.size;
			b->mmapped = true;
			b->mmap_err = 0;
		} else {
			b->mmap_err = errno;
		}
	}
	*stage = NULL;
	*r = sysret_of(0);
	return 0;
}

struct sysret bar_close(struct bar *b)
{
	struct sysret r = sysret_of(0);

	if (b->map) {
		r = sysret_of(munmap((void *)b->map, b->map_len));
		b->map = NULL;
	}
	return r;
}

uint32_t bar_rd32(struct bar *b, uint32_t reg)
{
	uint32_t v;

	if (b->map)
		return *(volatile uint32_t *)(b->map + reg);
	if (pread(b->fd, &v, sizeof(v), (off_t)(b->offset + reg)) != (ssize_t)sizeof(v)) {
		if (!b->io_err)
			b->io_err = errno ? errno : EIO;
		return 0xffffffff;
	}
	return v;
}

void bar_wr32(struct bar *b, uint32_t reg, uint32_t v)
{
	/* Descriptors and queue entries written to memory before this
	 * register write (a doorbell) must be visible to the device first. */
	__sync_synchronize();
	if (b->map) {
		*(volatile uint32_t *)(b->map + reg) = v;
		return;
	}
	if (pwrite(b->fd, &v, sizeof(v), (off_t)(b->offset + reg)) != (ssize_t)sizeof(v) &&
	    !b->io_err)
		b->io_err = errno ? errno : EIO;
}

void pci_emit(const struct bar *b, uint16_t command)
{
	json_key("command");
	if (b && command)
		json_hex(command);
	else
		json_null();
	json_kv_string("bar_access", !b || !b->size ? NULL : b->mmapped ? "mmap" : "rw");
	json_key("bar_size");
	if (b && b->size)
		json_uint(b->size);
	else
		json_null();
	if (b && b->size)
		json_kv_errname("mmap_errname", b->mmap_err);
	else
		json_kv_null("mmap_errname");
	if (b)
		json_kv_errname("bar_errname", b->io_err);
	else
		json_kv_null("bar_errname");
}
