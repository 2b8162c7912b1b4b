/* The step interpreter behind `vfio-probe run`.
 *
 * A script is checked completely (op names, argument counts, numbers, that
 * every handle is created by an earlier step) before the first syscall, so a
 * typo in a scenario is a usage error (exit 2) instead of a misleading EBADF
 * halfway through a run that already changed device state.
 */
#ifndef PROBE_SCRIPT_H
#define PROBE_SCRIPT_H

#include <stdbool.h>
#include <stdint.h>

#include "handles.h"

#define MAX_POS 8

enum {
	OPT_FLAGS = 1 << 0,	/* flags=N */
	OPT_ARGSZ = 1 << 1,	/* argsz=N */
	OPT_NULL = 1 << 2,	/* null: pass a NULL ioctl argument */
	OPT_RO = 1 << 3,	/* ro: map without WRITEABLE */
	OPT_TRAIL = 1 << 4,	/* trail=BYTE */
	OPT_FILL = 1 << 5,	/* fill=BYTE */
	OPT_TIMEOUT = 1 << 6,	/* timeout=MS */
	OPT_NOMAP = 1 << 7,	/* nomap: the step maps nothing into the IOAS */
	OPT_NOMAP_RX = 1 << 8,	/* nomap-rx: e1000 leaves the RX buffer unmapped */
};

struct op;

struct step {
	const struct op *op;
	char **words;		/* words[0] is the op name */
	int nwords;
	const char *pos[MAX_POS];	/* positional words, options removed */
	int npos;
	unsigned opts;		/* options present */
	unsigned long long flags, argsz, trail, fill, timeout;
};

/* Signature letters, one per positional argument; those after '[' are
 * optional:
 *   h  name for a new fd handle      F  fd: handle or #N
 *   i  name for a new id handle      I  object id: handle or #N
 *   b  name for a new background child (default "bg")
 *   B  background child handle
 *   M  device whose mapping "<DEV>.map" an earlier mmap created
 *   u  name for a new DMA buffer      U  DMA buffer handle
 *   N  device whose controller state "<DEV>.nvme" nvme-enable created
 *   a  address: a number, or BUF.gpa[+OFF] (guest-physical address of
 *      byte OFF of buffer BUF, looked up when the step runs)
 *   A  like a, or the word own-gpa (the step's own page's GPA)
 *   n  number (decimal, 0x hex, 0 octal)
 *   s  string
 */
struct op {
	const char *name;
	const char *sig;
	unsigned opts;
	/* The op also creates the handle "<first positional><suffix>". */
	const char *define_suffix;
	enum hkind define_kind;
	void (*run)(struct htab *h, const struct step *s);
	/* Space-separated suffixes: the op also creates the DMA buffer
	 * handles "<first positional><suffix>" (nvme-enable's queues). */
	const char *define_bufs;
};

/* Accessors for op implementations; arguments were validated already. */
int step_fd(struct htab *h, const struct step *s, int i);
uint32_t step_id(struct htab *h, const struct step *s, int i);
unsigned long long step_num(const struct step *s, int i);
/* An 'a'/'A' argument resolved now (a BUF.gpa of a failed buffer is 0).
 * For 'A', check step_is_own_gpa first. */
unsigned long long step_addr(struct htab *h, const struct step *s, int i);
bool step_is_own_gpa(const struct step *s, int i);
/* The handle named "<positional i><suffix>", or NULL. */
struct handle *step_handle(struct htab *h, const struct step *s, int i,
			   const char *suffix);
/* Handle name for an optional 'b' argument. */
const char *step_bg_name(const struct step *s, int i);

/* Returns the process exit status. */
int script_main(int nsteps, char **steps);

#endif
