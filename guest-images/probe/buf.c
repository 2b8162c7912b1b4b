#define _GNU_SOURCE
#include "buf.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "json.h"

/* /proc/self/pagemap: one u64 per virtual page; bit 63 = present,
 * bits 0-54 = PFN (shown only with CAP_SYS_ADMIN; the probe runs as root). */
#define PM_PRESENT (1ULL << 63)
#define PM_PFN_MASK ((1ULL << 55) - 1)

static uint64_t pagemap_gpa(int fd, const void *va, int *err)
{
	uint64_t e;
	off_t off = (off_t)((uintptr_t)va / BUF_PAGE) * (off_t)sizeof(e);

	if (pread(fd, &e, sizeof(e), off) != (ssize_t)sizeof(e)) {
		*err = errno ? errno : EIO;
		return 0;
	}
	if (!(e & PM_PRESENT) || !(e & PM_PFN_MASK))
		return 0;
	return (e & PM_PFN_MASK) * BUF_PAGE;
}

void buf_refresh_gpas(struct handle *hd)
{
	struct probe_buf *b = buf_of(hd);
	int fd;

	if (!b)
		return;
	b->gpa_err = 0;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		b->gpa_err = errno;
	for (size_t i = 0; i < b->npages; i++)
		b->gpas[i] = fd < 0 ? 0 :
			pagemap_gpa(fd, (char *)hd->addr + i * BUF_PAGE, &b->gpa_err);
	if (fd >= 0)
		close(fd);
}

struct sysret buf_create(struct handle *hd, size_t len, unsigned char fill,
			 const char **stage)
{
	struct probe_buf *b;
	struct sysret r;
	void *p;

	if (len == 0 || len % BUF_PAGE) {
		errno = EINVAL;
		*stage = "length";
		return sysret_of(-1);
	}
	*stage = "alloc";
	b = calloc(1, sizeof(*b));
	if (b)
		b->gpas = calloc(len / BUF_PAGE, sizeof(*b->gpas));
	if (!b || !b->gpas) {
		free(b);
		errno = ENOMEM;
		return sysret_of(-1);
	}
	*stage = "mmap";
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		r = sysret_of(-1);
		goto fail;
	}
	/* Small pages only: a THP could be split or collapsed behind our back,
	 * changing the GPAs we reported. Failure here is harmless. */
	madvise(p, len, MADV_NOHUGEPAGE);
	/* mlock faults every page in and keeps it resident at one GPA, so a
	 * device aimed at that GPA hits exactly this memory. */
	*stage = "mlock";
	r = sysret_of(mlock(p, len));
	if (r.ret < 0) {
		munmap(p, len);
		goto fail;
	}
	memset(p, fill, len);
	b->fill = fill;
	b->npages = len / BUF_PAGE;
	hd->addr = p;
	hd->len = len;
	hd->priv = b;
	buf_refresh_gpas(hd);
	*stage = NULL;
	return r;
fail:
	free(b->gpas);
	free(b);
	return r;
}

struct probe_buf *buf_of(const struct handle *hd)
{
	if (!hd || hd->kind != H_BUF || hd->addr == MAP_FAILED)
		return NULL;
	return hd->priv;
}

uint64_t buf_gpa_at(const struct handle *hd, unsigned long long off)
{
	struct probe_buf *b = buf_of(hd);
	size_t page = (size_t)(off / BUF_PAGE);

	if (!b)
		return 0;
	if (off >= hd->len)
		return b->gpas[0] ? b->gpas[0] + off : 0;
	return b->gpas[page] ? b->gpas[page] + off % BUF_PAGE : 0;
}

void buf_emit_gpas(const struct handle *hd)
{
	struct probe_buf *b = buf_of(hd);

	json_key("gpa");
	if (b && b->gpas[0])
		json_hex(b->gpas[0]);
	else
		json_null();
	json_key("gpas");
	/* A large buffer's list would be most of the probe's output (10240
	 * pages for 40 MiB) and nothing reads it: the probe still knows each
	 * page's GPA for U.gpa+OFF. */
	if (!b || b->npages > BUF_GPAS_LISTED) {
		json_null();
		return;
	}
	json_begin_array();
	for (size_t i = 0; i < b->npages; i++) {
		if (b->gpas[i])
			json_hex(b->gpas[i]);
		else
			json_null();
	}
	json_end_array();
}
