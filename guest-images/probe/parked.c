#define _GNU_SOURCE
#include "parked.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "clock.h"
#include "isolate.h"
#include "json.h"
#include "result.h"
#include "scratch.h"
#include "vfio_region.h"

struct named_ioctl {
	const char *name;
	unsigned long cmd;
	uint32_t argsz;		/* 0: the argument has no argsz field */
};

/* #cmd keeps the macro's spelling, so the report names each ioctl the way
 * the uAPI header does. */
#define WITH_ARGSZ(cmd, type) { #cmd, cmd, sizeof(type) }
#define NO_ARGSZ(cmd) { #cmd, cmd, 0 }

static const struct named_ioctl named[] = {
	WITH_ARGSZ(VFIO_DEVICE_GET_INFO, struct vfio_device_info),
	WITH_ARGSZ(VFIO_DEVICE_GET_REGION_INFO, struct vfio_region_info),
	WITH_ARGSZ(VFIO_DEVICE_GET_IRQ_INFO, struct vfio_irq_info),
	WITH_ARGSZ(VFIO_DEVICE_SET_IRQS, struct vfio_irq_set),
	/* RESET takes no argument. */
	NO_ARGSZ(VFIO_DEVICE_RESET),
	WITH_ARGSZ(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, struct vfio_pci_hot_reset_info),
	WITH_ARGSZ(VFIO_DEVICE_PCI_HOT_RESET, struct vfio_pci_hot_reset),
	WITH_ARGSZ(VFIO_DEVICE_QUERY_GFX_PLANE, struct vfio_device_gfx_plane_info),
	/* GET_GFX_DMABUF reads a bare __u32 dmabuf id. */
	NO_ARGSZ(VFIO_DEVICE_GET_GFX_DMABUF),
	WITH_ARGSZ(VFIO_DEVICE_IOEVENTFD, struct vfio_device_ioeventfd),
	WITH_ARGSZ(VFIO_DEVICE_FEATURE, struct vfio_device_feature),
	WITH_ARGSZ(VFIO_DEVICE_ATTACH_IOMMUFD_PT, struct vfio_device_attach_iommufd_pt),
	WITH_ARGSZ(VFIO_DEVICE_DETACH_IOMMUFD_PT, struct vfio_device_detach_iommufd_pt),
};

#define NNAMED (sizeof(named) / sizeof(named[0]))

/* Every ioctl number of the VFIO type the sweep tries. */
#define NR_FIRST 0u
#define NR_LAST 255u

/* Records begun by the sweep in progress: what "swept" reports. */
static int records;

static void begin_op(const char *name, const char *kind)
{
	records++;
	json_begin_object();
	json_kv_string("name", name);
	json_kv_string("kind", kind);
}

/* A parked fd answers in microseconds; a call still running after this long
 * is stuck in the kernel. */
#define OP_TIMEOUT_MS 3000

struct ioctl_ctx {
	unsigned long cmd;
	uint32_t argsz;
};

static struct sysret do_ioctl(int fd, const void *p)
{
	const struct ioctl_ctx *c = p;
	unsigned char *arg = scratch();

	if (c->argsz)
		memcpy(arg, &c->argsz, sizeof(c->argsz));
	return sysret_of(ioctl(fd, c->cmd, arg));
}

static void emit_ioctl(const char *name, unsigned long cmd, struct sysret r, int sig)
{
	begin_op(name, "ioctl");
	json_kv_uint("nr", _IOC_NR(cmd));
	json_kv_hex("cmd", cmd);
	emit_sysret(r);
	if (sig)
		json_kv_int("signal", sig);
	json_end_object();
}

static void emit_access(const char *name, const char *kind, uint64_t offset,
			struct sysret r)
{
	begin_op(name, kind);
	json_kv_hex("offset", offset);
	emit_sysret(r);
	json_end_object();
}

static bool is_named(unsigned long cmd)
{
	for (size_t i = 0; i < NNAMED; i++)
		if (named[i].cmd == cmd)
			return true;
	return false;
}

static void sweep_access(int fd)
{
	const uint64_t bar0 = vfio_pci_region_offset(VFIO_PCI_BAR0_REGION_INDEX);
	const uint64_t config = vfio_pci_region_offset(VFIO_PCI_CONFIG_REGION_INDEX);
	/* Zeros on the write side: only whether the access is let through
	 * matters, and a zero write to BAR0/config offset 0 is harmless on the
	 * emulated devices (offset 0 of config space is read-only). */
	unsigned char data[4] = { 0 };
	void *p;
	struct sysret r;

	emit_access("read-bar0", "read", bar0, sysret_of(pread(fd, data, sizeof(data), (off_t)bar0)));
	memset(data, 0, sizeof(data));
	emit_access("write-bar0", "write", bar0, sysret_of(pwrite(fd, data, sizeof(data), (off_t)bar0)));
	emit_access("read-config", "read", config, sysret_of(pread(fd, data, sizeof(data), (off_t)config)));
	memset(data, 0, sizeof(data));
	emit_access("write-config", "write", config, sysret_of(pwrite(fd, data, sizeof(data), (off_t)config)));

	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)bar0);
	r.ret = p == MAP_FAILED ? -1 : 0;
	r.err = p == MAP_FAILED ? errno : 0;
	/* A mapping that should not exist must not outlive the record: it
	 * would pin the device for the rest of the run. */
	if (p != MAP_FAILED)
		munmap(p, 4096);
	emit_access("mmap-bar0", "mmap", bar0, r);
}

#define MAX_IOCTLS (NNAMED + NR_LAST - NR_FIRST + 1)

int parked_sweep(int fd)
{
	static struct ioctl_ctx ctx[MAX_IOCTLS];
	static char numbered[MAX_IOCTLS][32];
	static const char *names[MAX_IOCTLS];
	static struct sysret result[MAX_IOCTLS];
	static int sig[MAX_IOCTLS];
	size_t n = 0;

	records = 0;
	json_begin_array();
	sweep_access(fd);

	for (size_t i = 0; i < NNAMED; i++, n++) {
		ctx[n] = (struct ioctl_ctx){ named[i].cmd, named[i].argsz };
		names[n] = named[i].name;
	}
	/* Every other command number of the VFIO type, including ones no
	 * kernel defines yet: a kernel whose pre-bind gate only covers the
	 * ioctls it knows by name shows up here. BIND is excluded because
	 * it is the one command a parked fd must accept. */
	for (unsigned int nr = NR_FIRST; nr <= NR_LAST; nr++) {
		unsigned long cmd = _IO(VFIO_TYPE, nr);

		if (cmd == VFIO_DEVICE_BIND_IOMMUFD || is_named(cmd))
			continue;
		ctx[n] = (struct ioctl_ctx){ cmd, SCRATCH_SIZE };
		snprintf(numbered[n], sizeof(numbered[n]), "ioctl#0x%lx", cmd);
		names[n] = numbered[n];
		n++;
	}
	/* Each call still in a child of its own when it oopses or hangs; the
	 * calls that return share one. */
	run_isolated_each(do_ioctl, fd, ctx, sizeof(ctx[0]), n, (int)scaled_ms(OP_TIMEOUT_MS), result, sig);
	for (size_t i = 0; i < n; i++)
		emit_ioctl(names[i], ctx[i].cmd, result[i], sig[i]);
	json_end_array();
	return records;
}

void parked_emit_swept(int n)
{
	json_key("swept");
	json_begin_object();
	json_kv_int("records", n);
	json_kv_uint("ioctl_nr_first", NR_FIRST);
	json_kv_uint("ioctl_nr_last", NR_LAST);
	json_key("skipped");
	json_begin_array();
	json_begin_object();
	json_kv_string("name", "VFIO_DEVICE_BIND_IOMMUFD");
	json_kv_uint("nr", _IOC_NR(VFIO_DEVICE_BIND_IOMMUFD));
	json_end_object();
	json_end_array();
	json_end_object();
}

int parked_main(const char *path)
{
	struct sysret opened;

	if (scratch_init() < 0)
		return json_error_document("cannot map the scratch page");

	opened = sysret_of(open(path, O_RDWR | O_CLOEXEC));
	json_begin_object();
	json_kv_uint("time_scale", probe_time_scale);
	json_kv_string("path", path);
	json_key("open");
	emit_sysret_object(opened);
	json_key("ops");
	if (opened.ret >= 0) {
		int n = parked_sweep((int)opened.ret);

		json_key("close");
		emit_sysret_object(sysret_of(close((int)opened.ret)));
		parked_emit_swept(n);
	} else {
		/* Sweeping fd -1 would only list EBADF 260 times. */
		json_begin_array();
		json_end_array();
		json_kv_null("close");
		json_kv_null("swept");
	}
	json_end_object();
	return json_finish() < 0 ? 1 : 0;
}
