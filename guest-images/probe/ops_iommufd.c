/* Steps on an iommufd: IOAS lifetime, mappings, and raw commands for uAPI
 * conformance checks. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/iommufd.h>

#include "json.h"
#include "ops.h"
#include "result.h"
#include "scratch.h"

#define DEFAULT_RANGES 8

void op_iommufd(struct htab *h, const struct step *s)
{
	struct sysret r = sysret_of(open("/dev/iommu", O_RDWR | O_CLOEXEC));

	htab_put(h, s->pos[0], H_FD)->val = r.ret;
	emit_sysret(r);
}

void op_ioas_alloc(struct htab *h, const struct step *s)
{
	struct iommu_ioas_alloc *a = scratch();
	struct sysret r;

	a->size = sizeof(*a);
	r = sysret_of(ioctl(step_fd(h, s, 0), IOMMU_IOAS_ALLOC, a));
	/* 0 on failure: iommufd never allocates object id 0. */
	htab_put(h, s->pos[1], H_ID)->val = r.ret == 0 ? (long long)a->out_ioas_id : 0;
	emit_sysret(r);
	json_key("id");
	if (r.ret == 0)
		json_uint(a->out_ioas_id);
	else
		json_null();
}

void op_destroy(struct htab *h, const struct step *s)
{
	struct iommu_destroy *d = scratch();

	d->size = sizeof(*d);
	d->id = step_id(h, s, 1);
	emit_sysret(sysret_of(ioctl(step_fd(h, s, 0), IOMMU_DESTROY, d)));
	json_kv_uint("id", d->id);
}

void op_map(struct htab *h, const struct step *s)
{
	unsigned long long len = step_num(s, 3);
	long page = sysconf(_SC_PAGESIZE);
	/* At least one page, so that LEN 0 or an unaligned LEN still reaches
	 * iommufd's own argument checks with a valid user_va. */
	size_t buflen = len ? (size_t)((len + page - 1) & ~(unsigned long long)(page - 1))
			    : (size_t)page;
	struct iommu_ioas_map *m;
	struct sysret r;
	void *buf;

	/* The buffer is deliberately never unmapped: once mapped, iommufd
	 * holds its pages pinned, and keeping our VA alive makes the
	 * reported user_va stay meaningful for the rest of the script. */
	buf = mmap(NULL, buflen, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		emit_sysret(sysret_of(-1));
		json_kv_string("stage", "buffer");
		json_kv_null("iova");
		json_kv_null("user_va");
		return;
	}
	m = scratch();
	m->size = sizeof(*m);
	m->flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE;
	if (!(s->opts & OPT_RO))
		m->flags |= IOMMU_IOAS_MAP_WRITEABLE;
	m->ioas_id = step_id(h, s, 1);
	m->user_va = (uintptr_t)buf;
	m->length = len;
	m->iova = step_addr(h, s, 2);
	r = sysret_of(ioctl(step_fd(h, s, 0), IOMMU_IOAS_MAP, m));
	emit_sysret(r);
	json_kv_null("stage");
	json_key("iova");
	if (r.ret == 0)
		json_hex(m->iova);
	else
		json_null();
	json_kv_hex("user_va", (uintptr_t)buf);
}

void op_unmap(struct htab *h, const struct step *s)
{
	struct iommu_ioas_unmap *u = scratch();
	struct sysret r;

	u->size = sizeof(*u);
	u->ioas_id = step_id(h, s, 1);
	u->iova = step_addr(h, s, 2);
	u->length = step_num(s, 3);
	r = sysret_of(ioctl(step_fd(h, s, 0), IOMMU_IOAS_UNMAP, u));
	emit_sysret(r);
	json_key("length");
	if (r.ret == 0)
		json_uint(u->length);
	else
		json_null();
}

void op_iova_ranges(struct htab *h, const struct step *s)
{
	unsigned long long n = s->npos > 2 ? step_num(s, 2) : DEFAULT_RANGES;
	struct iommu_ioas_iova_ranges *q;
	struct iommu_iova_range *ranges;
	struct sysret r;

	/* The array lives outside the scratch page so that N can exceed what
	 * would fit there; calloc(0) is avoided so N=0 still passes a valid
	 * pointer and only num_iovas decides the outcome. */
	ranges = calloc(n ? n : 1, sizeof(*ranges));
	if (!ranges || n > UINT32_MAX) {
		free(ranges);
		errno = ENOMEM;
		emit_sysret(sysret_of(-1));
		json_kv_string("stage", "buffer");
		json_kv_null("num_iovas");
		json_kv_null("ranges");
		json_kv_null("out_iova_alignment");
		return;
	}
	q = scratch();
	q->size = sizeof(*q);
	q->ioas_id = step_id(h, s, 1);
	q->num_iovas = (uint32_t)n;
	q->allowed_iovas = (uintptr_t)ranges;
	r = sysret_of(ioctl(step_fd(h, s, 0), IOMMU_IOAS_IOVA_RANGES, q));
	emit_sysret(r);
	json_kv_null("stage");
	/* Reported on failure too: with EMSGSIZE it is the count needed. */
	json_kv_uint("num_iovas", q->num_iovas);
	json_key("ranges");
	if (r.ret == 0) {
		json_begin_array();
		for (uint32_t i = 0; i < q->num_iovas && i < n; i++) {
			json_begin_object();
			json_kv_hex("start", ranges[i].start);
			json_kv_hex("last", ranges[i].last);
			json_end_object();
		}
		json_end_array();
		json_kv_uint("out_iova_alignment", q->out_iova_alignment);
	} else {
		json_null();
		json_kv_null("out_iova_alignment");
	}
	free(ranges);
}

/* raw-iommufd IFD CMDNR SIZE [trail=BYTE] [flags=N]
 *
 * Sends _IO(IOMMUFD_TYPE, CMDNR) with the zeroed scratch page as argument:
 *  - the u32 at offset 0 (every iommufd struct starts with `size`) = SIZE;
 *  - flags=N: the u32 at offset 4 = N (where most commands keep `flags`);
 *  - trail=BYTE: the byte at offset SIZE-1 = BYTE, when 1 <= SIZE <= 4096.
 *    With SIZE larger than the command's struct this is a non-zero byte in
 *    the part the kernel does not know, which it must reject with E2BIG.
 * The page (4096 bytes, more than the 256 a struct could need) bounds what
 * the kernel can read as long as SIZE <= 4096; a larger SIZE makes it read
 * past the page, which is the caller's explicit choice.
 */
void op_raw_iommufd(struct htab *h, const struct step *s)
{
	unsigned long long nr = step_num(s, 1), size = step_num(s, 2);
	unsigned long cmd = _IO(IOMMUFD_TYPE, nr & 0xff);
	unsigned char *buf = scratch();
	uint32_t v32;
	struct sysret r;

	v32 = (uint32_t)size;
	memcpy(buf, &v32, sizeof(v32));
	if (s->opts & OPT_FLAGS) {
		v32 = (uint32_t)s->flags;
		memcpy(buf + 4, &v32, sizeof(v32));
	}
	if ((s->opts & OPT_TRAIL) && size >= 1 && size <= SCRATCH_SIZE)
		buf[size - 1] = (unsigned char)s->trail;
	r = sysret_of(ioctl(step_fd(h, s, 0), cmd, buf));
	emit_sysret(r);
	json_kv_hex("cmd", cmd);
	/* What the kernel left in the struct (outputs, or our input when it
	 * bailed out early). */
	json_key("out_hex");
	json_hexbytes(buf, size < 64 ? (size_t)size : 64);
}
