/* Named handles of a step script: fds, iommufd object ids, background
 * children, device mappings, DMA buffers and device driver state created by
 * earlier steps.
 *
 * Entries are only ever appended and lookups take the newest match, so
 * re-using a name shadows the old entry without forgetting it: a forked
 * child must still find every device mapping to drop it (see ops_bg.c).
 */
#ifndef PROBE_HANDLES_H
#define PROBE_HANDLES_H

#include <stdbool.h>
#include <stddef.h>

enum hkind {
	H_FD, H_ID, H_BG, H_MAP,
	H_BUF,		/* buf: DMA buffer (addr/len, priv = struct probe_buf) */
	H_NVME,		/* "<DEV>.nvme": addr/len = BAR0 mmap, priv = struct nvme */
};

struct handle {
	char *name;
	enum hkind kind;
	long long val;		/* fd, object id, or pid; -1/0 when creation failed */
	void *addr;		/* H_MAP/H_BUF/H_NVME: mapping, MAP_FAILED when none */
	size_t len;		/* its length */
	void *priv;		/* H_BUF, H_NVME: kind-specific state */
	int pipe_fd;		/* H_BG: read end carrying the child's result */
	bool done;		/* H_BG: child reaped, result below is final */
	bool have_result;	/* H_BG: the child reported ret/err */
	long long bg_ret;
	int bg_err;
	char bg_stage[8];	/* H_BG: "open" or "write" */
	int bg_status;		/* H_BG: raw waitpid status */
};

struct htab {
	struct handle *v;
	size_t n, cap;
};

const char *hkind_name(enum hkind kind);

/* Newest entry with this name, or NULL. */
struct handle *htab_get(struct htab *t, const char *name);

/* Appends a fresh entry; exits the probe (status 1) if out of memory.
 * May move the table: pointers from earlier htab_get/htab_put calls are
 * invalid afterwards. */
struct handle *htab_put(struct htab *t, const char *name, enum hkind kind);

#endif
