#define _GNU_SOURCE
#include "handles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

const char *hkind_name(enum hkind kind)
{
	switch (kind) {
	case H_FD: return "fd";
	case H_ID: return "object id";
	case H_BG: return "background child";
	case H_MAP: return "mapping";
	case H_BUF: return "buffer";
	case H_NVME: return "nvme controller";
	}
	return "?";
}

struct handle *htab_get(struct htab *t, const char *name)
{
	for (size_t i = t->n; i-- > 0;)
		if (strcmp(t->v[i].name, name) == 0)
			return &t->v[i];
	return NULL;
}

static void oom(void)
{
	/* Mid-script there is no clean way to report; the host sees the
	 * truncated document plus exit status 1. */
	fputs("vfio-probe: out of memory\n", stderr);
	exit(1);
}

struct handle *htab_put(struct htab *t, const char *name, enum hkind kind)
{
	struct handle *h;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct handle *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			oom();
		t->v = v;
		t->cap = cap;
	}
	h = &t->v[t->n++];
	memset(h, 0, sizeof(*h));
	h->name = strdup(name);
	if (!h->name)
		oom();
	h->kind = kind;
	h->val = -1;
	h->addr = MAP_FAILED;
	h->pipe_fd = -1;
	return h;
}
