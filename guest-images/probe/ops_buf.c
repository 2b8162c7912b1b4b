/* Steps on DMA buffers: create, refill, inspect, map into an IOAS.
 *
 * A buffer's contents are the evidence of what a device really did: the
 * probe reports them and never interprets a completion status as success
 * (QEMU's NVMe can report status 0 for a transfer the IOMMU blocked).
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>

#include "buf.h"
#include "ioas.h"
#include "json.h"
#include "ops.h"
#include "result.h"

/* buf-check shows the first HEX_BYTES bytes, and bytes ASCII_FROM..63 as
 * text: an NVMe Identify Controller page has the model number there. */
#define HEX_BYTES 64
#define ASCII_FROM 24

/* A step on a buffer whose creation failed: like a failed fd handle, it
 * gives EBADF, and the step makes no call. */
static bool need_buf(struct handle *hd)
{
	if (buf_of(hd))
		return true;
	errno = EBADF;
	emit_sysret(sysret_of(-1));
	json_kv_string("stage", "buffer");
	return false;
}

void op_buf(struct htab *h, const struct step *s)
{
	struct handle *hd = htab_put(h, s->pos[0], H_BUF);
	unsigned char fill = (s->opts & OPT_FILL) ? (unsigned char)s->fill : 0;
	const char *stage;
	struct sysret r = buf_create(hd, (size_t)step_num(s, 1), fill, &stage);
	struct probe_buf *b = buf_of(hd);

	emit_sysret(r);
	json_kv_string("stage", stage);
	if (b) {
		json_kv_hex("user_va", (uintptr_t)hd->addr);
		json_kv_uint("length", hd->len);
		json_kv_uint("fill", b->fill);
	} else {
		json_kv_null("user_va");
		json_kv_null("length");
		json_kv_null("fill");
	}
	buf_emit_gpas(hd);
	if (b)
		json_kv_errname("gpa_errname", b->gpa_err);
	else
		json_kv_null("gpa_errname");
}

void op_buf_fill(struct htab *h, const struct step *s)
{
	struct handle *hd = htab_get(h, s->pos[0]);
	struct probe_buf *b;

	if (!need_buf(hd)) {
		json_kv_null("fill");
		return;
	}
	b = buf_of(hd);
	if (s->opts & OPT_FILL)
		b->fill = (unsigned char)s->fill;
	memset(hd->addr, b->fill, hd->len);
	emit_sysret(sysret_of(0));
	json_kv_null("stage");
	json_kv_uint("fill", b->fill);
}

void op_buf_check(struct htab *h, const struct step *s)
{
	struct handle *hd = htab_get(h, s->pos[0]);
	const unsigned char *p;
	struct probe_buf *b;
	size_t first = 0, changed = 0;
	char ascii[HEX_BYTES - ASCII_FROM + 1];

	if (!need_buf(hd)) {
		static const char *const fields[] = { "fill", "changed", "changed_bytes",
			"first_changed_offset", "hex", "ascii", "gpa", "gpas" };

		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			json_kv_null(fields[i]);
		return;
	}
	b = buf_of(hd);
	p = hd->addr;
	for (size_t i = hd->len; i-- > 0;) {
		if (p[i] != b->fill) {
			changed++;
			first = i;
		}
	}
	for (size_t i = ASCII_FROM; i < HEX_BYTES; i++)
		ascii[i - ASCII_FROM] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.';
	ascii[HEX_BYTES - ASCII_FROM] = '\0';

	emit_sysret(sysret_of(0));
	json_kv_null("stage");
	json_kv_uint("fill", b->fill);
	json_kv_bool("changed", changed > 0);
	json_kv_uint("changed_bytes", changed);
	json_key("first_changed_offset");
	if (changed)
		json_uint(first);
	else
		json_null();
	json_key("hex");
	json_hexbytes(p, HEX_BYTES);
	json_kv_string("ascii", ascii);
	buf_refresh_gpas(hd);
	buf_emit_gpas(hd);
}

void op_map_buf(struct htab *h, const struct step *s)
{
	struct handle *hd = htab_get(h, s->pos[2]);
	uint64_t iova = step_addr(h, s, 3);
	struct sysret r;

	if (!need_buf(hd)) {
		json_kv_hex("iova", iova);
		json_kv_null("user_va");
		json_kv_null("length");
		json_kv_null("gpa");
		json_kv_null("gpas");
		return;
	}
	r = ioas_map(step_fd(h, s, 0), step_id(h, s, 1), hd->addr, hd->len, iova,
		     !(s->opts & OPT_RO));
	emit_sysret(r);
	json_kv_string("stage", r.ret < 0 ? "map" : NULL);
	/* As sent, also on failure: with BUF.gpa addresses the host cannot
	 * know the value otherwise. */
	json_kv_hex("iova", iova);
	json_kv_hex("user_va", (uintptr_t)hd->addr);
	json_kv_uint("length", hd->len);
	/* Pinning (FOLL_LONGTERM) may migrate pages out of movable memory:
	 * the GPAs after the map are the ones the IOMMU now translates to. */
	buf_refresh_gpas(hd);
	buf_emit_gpas(hd);
}
