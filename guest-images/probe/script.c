#define _GNU_SOURCE
#include "script.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "json.h"
#include "ops.h"
#include "scratch.h"

static const struct op ops[] = {
	{ "open", "hs", 0, NULL, 0, op_open, NULL },
	{ "close", "F", 0, NULL, 0, op_close, NULL },
	{ "iommufd", "h", 0, NULL, 0, op_iommufd, NULL },
	{ "bind", "FF", OPT_FLAGS | OPT_ARGSZ | OPT_NULL, ".devid", H_ID, op_bind, NULL },
	{ "attach", "FI", OPT_FLAGS | OPT_ARGSZ | OPT_NULL, NULL, 0, op_attach, NULL },
	{ "detach", "F", OPT_FLAGS | OPT_ARGSZ | OPT_NULL, NULL, 0, op_detach, NULL },
	{ "ioas-alloc", "Fi", 0, NULL, 0, op_ioas_alloc, NULL },
	{ "destroy", "FI", 0, NULL, 0, op_destroy, NULL },
	{ "map", "FIan", OPT_RO, NULL, 0, op_map, NULL },
	{ "unmap", "FIan", 0, NULL, 0, op_unmap, NULL },
	{ "iova-ranges", "FI[n", 0, NULL, 0, op_iova_ranges, NULL },
	{ "raw-iommufd", "Fnn", OPT_TRAIL | OPT_FLAGS, NULL, 0, op_raw_iommufd, NULL },
	{ "hwpt-alloc", "FiII", OPT_FLAGS, NULL, 0, op_hwpt_alloc, NULL },
	{ "hw-info", "FI", 0, NULL, 0, op_hw_info, NULL },
	{ "get-info", "F", 0, NULL, 0, op_get_info, NULL },
	{ "region-info", "Fn", 0, NULL, 0, op_region_info, NULL },
	{ "read", "Fnn", 0, NULL, 0, op_read, NULL },
	{ "write", "Fnn", 0, NULL, 0, op_write, NULL },
	{ "mmap", "Fnn", 0, ".map", H_MAP, op_mmap, NULL },
	{ "munmap", "M", 0, NULL, 0, op_munmap, NULL },
	{ "group-open", "hs", 0, NULL, 0, op_group_open, NULL },
	{ "container-open", "h", 0, NULL, 0, op_container_open, NULL },
	{ "group-set-container", "FF", 0, NULL, 0, op_group_set_container, NULL },
	{ "set-iommu", "Fn", 0, NULL, 0, op_set_iommu, NULL },
	{ "group-get-device", "hFs", 0, NULL, 0, op_group_get_device, NULL },
	{ "sysfs-write", "ss", 0, NULL, 0, op_sysfs_write, NULL },
	{ "sysfs-write-bg", "ss[b", 0, NULL, 0, op_sysfs_write_bg, NULL },
	{ "wait-bg", "Bn", 0, NULL, 0, op_wait_bg, NULL },
	{ "exists", "s", 0, NULL, 0, op_exists, NULL },
	{ "sleep", "n", 0, NULL, 0, op_sleep, NULL },
	{ "parked", "F", 0, NULL, 0, op_parked, NULL },
	{ "buf", "un", OPT_FILL, NULL, 0, op_buf, NULL },
	{ "buf-fill", "U", OPT_FILL, NULL, 0, op_buf_fill, NULL },
	{ "buf-check", "U", 0, NULL, 0, op_buf_check, NULL },
	{ "map-buf", "FIUa", OPT_RO, NULL, 0, op_map_buf, NULL },
	{ "nvme-enable", "FFIAA", OPT_NOMAP | OPT_TIMEOUT, ".nvme", H_NVME,
	  op_nvme_enable, ".sq .cq" },
	{ "nvme-identify", "Na", OPT_TIMEOUT, NULL, 0, op_nvme_identify, NULL },
	{ "nvme-disable", "N", OPT_TIMEOUT, NULL, 0, op_nvme_disable, NULL },
	{ "e1000-loopback", "FFIaaaUa", OPT_NOMAP | OPT_NOMAP_RX | OPT_TIMEOUT,
	  NULL, 0, op_e1000_loopback, NULL },
};

static const struct op *find_op(const char *name)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}

static bool parse_num(const char *w, unsigned long long *out)
{
	char *end;

	if (!*w)
		return false;
	errno = 0;
	/* strtoull also takes "-1" (as 2^64-1), which is what a caller
	 * writing flags=-1 or a negative length wants to send. */
	*out = strtoull(w, &end, 0);
	return errno == 0 && *end == '\0';
}

/* "#N" names a raw fd number or object id instead of a handle, so scripts
 * can pass -1, a closed fd number, or an id nobody allocated. */
static bool parse_literal(const char *w, long long *out)
{
	char *end;

	if (w[0] != '#' || !w[1])
		return false;
	errno = 0;
	*out = strtoll(w + 1, &end, 0);
	return errno == 0 && *end == '\0';
}

static int sig_required(const struct op *op)
{
	const char *bracket = strchr(op->sig, '[');

	return bracket ? (int)(bracket - op->sig) : (int)strlen(op->sig);
}

/* Positional signature letter i, skipping the '[' marker. */
static char sig_at(const struct op *op, int i)
{
	int k = 0;

	for (const char *p = op->sig; *p; p++) {
		if (*p == '[')
			continue;
		if (k++ == i)
			return *p;
	}
	return '\0';
}

static int sig_total(const struct op *op)
{
	int n = 0;

	for (const char *p = op->sig; *p; p++)
		if (*p != '[')
			n++;
	return n;
}

static char *joined(const struct step *s)
{
	static char buf[512];
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < s->nwords && used < sizeof(buf) - 1; i++)
		used += snprintf(buf + used, sizeof(buf) - used, "%s%s",
				 i ? " " : "", s->words[i]);
	return buf;
}

static bool bad(int idx, const struct step *s, const char *fmt, const char *what)
{
	fprintf(stderr, "vfio-probe: step %d (%s): ", idx + 1, joined(s));
	fprintf(stderr, fmt, what);
	fputc('\n', stderr);
	return false;
}

static bool option_word(struct step *s, const char *w, bool *is_option,
			const char **err)
{
	static const struct { const char *key; unsigned bit; } keyed[] = {
		{ "flags", OPT_FLAGS }, { "argsz", OPT_ARGSZ }, { "trail", OPT_TRAIL },
		{ "fill", OPT_FILL }, { "timeout", OPT_TIMEOUT },
	};
	static const struct { const char *word; unsigned bit; } bare[] = {
		{ "null", OPT_NULL }, { "ro", OPT_RO }, { "nomap", OPT_NOMAP },
		{ "nomap-rx", OPT_NOMAP_RX },
	};
	const char *eq = strchr(w, '=');

	*is_option = false;
	/* Only keys this op accepts are options; anything else (a path with
	 * '=' in it, say) stays positional. */
	for (size_t i = 0; eq && i < sizeof(keyed) / sizeof(keyed[0]); i++) {
		unsigned long long v;

		if (!(s->op->opts & keyed[i].bit) ||
		    strlen(keyed[i].key) != (size_t)(eq - w) ||
		    strncmp(w, keyed[i].key, eq - w) != 0)
			continue;
		*is_option = true;
		if (!parse_num(eq + 1, &v)) {
			*err = "bad number in option '%s'";
			return false;
		}
		if ((keyed[i].bit == OPT_TRAIL || keyed[i].bit == OPT_FILL) && v > 0xff) {
			*err = "option takes one byte: '%s'";
			return false;
		}
		s->opts |= keyed[i].bit;
		if (keyed[i].bit == OPT_FLAGS)
			s->flags = v;
		else if (keyed[i].bit == OPT_ARGSZ)
			s->argsz = v;
		else if (keyed[i].bit == OPT_FILL)
			s->fill = v;
		else if (keyed[i].bit == OPT_TIMEOUT)
			s->timeout = v;
		else
			s->trail = v;
		return true;
	}
	for (size_t i = 0; i < sizeof(bare) / sizeof(bare[0]); i++) {
		if ((s->op->opts & bare[i].bit) && strcmp(w, bare[i].word) == 0) {
			*is_option = true;
			s->opts |= bare[i].bit;
			return true;
		}
	}
	return true;
}

/* "BUF.gpa" or "BUF.gpa+OFF". Handle names may themselves contain dots
 * ("d.sq"), so the last ".gpa" followed by nothing or "+OFF" counts. */
static bool parse_gpa_ref(const char *w, char *name, size_t cap,
			  unsigned long long *off)
{
	const char *hit = NULL;

	for (const char *p = strstr(w, ".gpa"); p; p = strstr(p + 1, ".gpa")) {
		const char *rest = p + 4;

		if (*rest == '\0' || (*rest == '+' && parse_num(rest + 1, off)))
			hit = p;
	}
	if (!hit || hit == w || (size_t)(hit - w) >= cap)
		return false;
	if (hit[4] == '\0')
		*off = 0;
	else
		parse_num(hit + 5, off);
	memcpy(name, w, hit - w);
	name[hit - w] = '\0';
	return true;
}

static bool valid_name(const char *w)
{
	return w[0] && w[0] != '#' && !strchr(w, '=');
}

static bool check_use(struct htab *known, const char *w, enum hkind kind,
		      int idx, const struct step *s)
{
	long long lit;
	struct handle *hd;

	if (kind != H_BG && parse_literal(w, &lit))
		return true;
	hd = htab_get(known, w);
	if (!hd)
		return bad(idx, s, "no earlier step creates handle '%s'", w);
	if (hd->kind != kind) {
		fprintf(stderr, "vfio-probe: step %d (%s): handle '%s' is of kind %s; "
			"this argument needs kind %s\n",
			idx + 1, joined(s), w, hkind_name(hd->kind), hkind_name(kind));
		return false;
	}
	return true;
}

/* Splits one argv element into words and checks it against the op table
 * and the handles known so far (`known` tracks names and kinds only). */
static bool parse_step(int idx, char *text, struct step *s, struct htab *known)
{
	int required, total;
	char *save = NULL;

	memset(s, 0, sizeof(*s));
	s->words = calloc(strlen(text) / 2 + 2, sizeof(char *));
	if (!s->words) {
		fputs("vfio-probe: out of memory\n", stderr);
		return false;
	}
	for (char *w = strtok_r(text, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save))
		s->words[s->nwords++] = w;
	if (s->nwords == 0) {
		fprintf(stderr, "vfio-probe: step %d is empty\n", idx + 1);
		return false;
	}
	s->op = find_op(s->words[0]);
	if (!s->op)
		return bad(idx, s, "unknown op '%s'", s->words[0]);

	for (int i = 1; i < s->nwords; i++) {
		const char *err = NULL;
		bool is_option;

		if (!option_word(s, s->words[i], &is_option, &err))
			return bad(idx, s, err, s->words[i]);
		if (is_option)
			continue;
		if (s->npos == MAX_POS)
			return bad(idx, s, "too many arguments%s", "");
		s->pos[s->npos++] = s->words[i];
	}

	required = sig_required(s->op);
	total = sig_total(s->op);
	if (s->npos < required || s->npos > total)
		return bad(idx, s, "wrong number of arguments for '%s' (see usage)",
			   s->op->name);

	for (int i = 0; i < total; i++) {
		const char *w = i < s->npos ? s->pos[i] : NULL;
		unsigned long long v;

		if (!w)
			continue;
		switch (sig_at(s->op, i)) {
		case 'F':
			if (!check_use(known, w, H_FD, idx, s))
				return false;
			break;
		case 'I':
			if (!check_use(known, w, H_ID, idx, s))
				return false;
			break;
		case 'B':
			if (!check_use(known, w, H_BG, idx, s))
				return false;
			break;
		case 'M': {
			char name[256];

			snprintf(name, sizeof(name), "%s.map", w);
			if (!check_use(known, name, H_MAP, idx, s))
				return false;
			break;
		}
		case 'U':
			if (!check_use(known, w, H_BUF, idx, s))
				return false;
			break;
		case 'N': {
			char name[256];

			snprintf(name, sizeof(name), "%s.nvme", w);
			if (!check_use(known, name, H_NVME, idx, s))
				return false;
			break;
		}
		case 'A':
			if (strcmp(w, "own-gpa") == 0)
				break;
			/* fall through */
		case 'a': {
			char name[256];

			if (parse_num(w, &v))
				break;
			if (!parse_gpa_ref(w, name, sizeof(name), &v))
				return bad(idx, s, "not an address (number or BUF.gpa[+OFF]): '%s'", w);
			if (!check_use(known, name, H_BUF, idx, s))
				return false;
			break;
		}
		case 'n':
			if (!parse_num(w, &v))
				return bad(idx, s, "not a number: '%s'", w);
			break;
		case 'h': case 'i': case 'b': case 'u':
			if (!valid_name(w))
				return bad(idx, s, "bad handle name '%s' (no leading '#', no '=')", w);
			break;
		}
	}
	/* Definitions go in after every use is checked: a step cannot
	 * consume a handle it creates. */
	for (int i = 0; i < total; i++) {
		char c = sig_at(s->op, i);

		if (c != 'b' && i >= s->npos)
			continue;
		if (c == 'h')
			htab_put(known, s->pos[i], H_FD);
		else if (c == 'i')
			htab_put(known, s->pos[i], H_ID);
		else if (c == 'b')
			htab_put(known, step_bg_name(s, i), H_BG);
		else if (c == 'u')
			htab_put(known, s->pos[i], H_BUF);
	}
	if (s->op->define_suffix) {
		char name[256];

		snprintf(name, sizeof(name), "%s%s", s->pos[0], s->op->define_suffix);
		htab_put(known, name, s->op->define_kind);
	}
	for (const char *p = s->op->define_bufs; p && *p;) {
		size_t n = strcspn(p, " ");
		char name[256];

		snprintf(name, sizeof(name), "%s%.*s", s->pos[0], (int)n, p);
		htab_put(known, name, H_BUF);
		p += n + (p[n] == ' ');
	}
	return true;
}

int step_fd(struct htab *h, const struct step *s, int i)
{
	long long lit;
	struct handle *hd;

	if (parse_literal(s->pos[i], &lit))
		return (int)lit;
	hd = htab_get(h, s->pos[i]);
	return hd ? (int)hd->val : -1;
}

uint32_t step_id(struct htab *h, const struct step *s, int i)
{
	long long lit;
	struct handle *hd;

	if (parse_literal(s->pos[i], &lit))
		return (uint32_t)lit;
	hd = htab_get(h, s->pos[i]);
	/* A failed creation leaves 0, which iommufd never hands out (its
	 * object xarray allocates from 1), so using it gives ENOENT. */
	return hd && hd->val > 0 ? (uint32_t)hd->val : 0;
}

unsigned long long step_num(const struct step *s, int i)
{
	unsigned long long v = 0;

	parse_num(s->pos[i], &v);
	return v;
}

bool step_is_own_gpa(const struct step *s, int i)
{
	return strcmp(s->pos[i], "own-gpa") == 0;
}

unsigned long long step_addr(struct htab *h, const struct step *s, int i)
{
	unsigned long long v = 0, off;
	char name[256];

	if (parse_num(s->pos[i], &v))
		return v;
	if (parse_gpa_ref(s->pos[i], name, sizeof(name), &off))
		return buf_gpa_at(htab_get(h, name), off);
	return 0;
}

struct handle *step_handle(struct htab *h, const struct step *s, int i,
			   const char *suffix)
{
	char name[256];

	snprintf(name, sizeof(name), "%s%s", s->pos[i], suffix);
	return htab_get(h, name);
}

const char *step_bg_name(const struct step *s, int i)
{
	return i < s->npos ? s->pos[i] : "bg";
}

int script_main(int nsteps, char **texts)
{
	struct htab known = { 0 }, handles = { 0 };
	struct step *steps;

	if (nsteps == 0) {
		fputs("vfio-probe: run needs at least one step\n", stderr);
		return 2;
	}
	steps = calloc(nsteps, sizeof(*steps));
	if (!steps) {
		fputs("vfio-probe: out of memory\n", stderr);
		return 1;
	}
	for (int i = 0; i < nsteps; i++)
		if (!parse_step(i, texts[i], &steps[i], &known))
			return 2;

	if (scratch_init() < 0)
		return json_error_document("cannot map the scratch page");

	json_begin_object();
	json_kv_uint("time_scale", probe_time_scale);
	json_key("steps");
	json_begin_array();
	for (int i = 0; i < nsteps; i++) {
		const struct step *s = &steps[i];

		json_begin_object();
		json_kv_string("op", s->op->name);
		json_key("args");
		json_begin_array();
		for (int w = 1; w < s->nwords; w++)
			json_string(s->words[w]);
		json_end_array();
		s->op->run(&handles, s);
		json_end_object();
		/* A step may hang (a blocking sysfs write) or crash the
		 * probe; what ran before must already be on the wire. */
		json_flush();
	}
	json_end_array();
	json_end_object();
	return json_finish() < 0 ? 1 : 0;
}
