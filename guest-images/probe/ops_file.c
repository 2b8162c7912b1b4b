/* Generic steps: plain files, sysfs, and time. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "ops.h"
#include "result.h"
#include "sysfs.h"

void op_open(struct htab *h, const struct step *s)
{
	struct sysret r = sysret_of(open(s->pos[1], O_RDWR | O_CLOEXEC));

	htab_put(h, s->pos[0], H_FD)->val = r.ret;
	emit_sysret(r);
}

void op_close(struct htab *h, const struct step *s)
{
	struct sysret r = sysret_of(close(step_fd(h, s, 0)));
	struct handle *hd = htab_get(h, s->pos[0]);

	/* Forget the number whatever close said: the kernel may hand it to
	 * the next open, and a later use of this handle must get EBADF, not
	 * silently reach that new file. */
	if (hd)
		hd->val = -1;
	emit_sysret(r);
}

void op_exists(struct htab *h, const struct step *s)
{
	struct stat st;
	struct sysret r = sysret_of(stat(s->pos[0], &st));

	(void)h;
	emit_sysret(r);
	json_kv_bool("exists", r.ret == 0);
}

void op_sleep(struct htab *h, const struct step *s)
{
	unsigned long long ms = step_num(s, 0);
	struct timespec left = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	struct sysret r;

	(void)h;
	while ((r = sysret_of(nanosleep(&left, &left))).ret < 0 && r.err == EINTR)
		;
	emit_sysret(r);
}

void op_sysfs_write(struct htab *h, const struct step *s)
{
	const char *stage;
	struct sysret r = sysfs_write(s->pos[0], s->pos[1], &stage);

	(void)h;
	emit_sysret(r);
	json_kv_string("stage", stage);
}
