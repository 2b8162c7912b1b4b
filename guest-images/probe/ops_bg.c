/* sysfs-write-bg / wait-bg: a sysfs write that may block (vfio-pci's unbind
 * waits for every device fd to close), done by a child so the script can go
 * on, observe that the child is stuck, close the fd, and see it finish.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "json.h"
#include "ops.h"
#include "result.h"
#include "sysfs.h"

/* What the child sends back through its pipe. */
struct bg_result {
	long long ret;
	int err;
	char stage[8];
};

static void close_fds_except(int keep)
{
	/* close_range needs Linux 5.9; the loop is the fallback. */
	if (keep > 3 && close_range(3, keep - 1, 0) == 0 &&
	    close_range(keep + 1, ~0U, 0) == 0)
		return;
	if (keep == 3 && close_range(4, ~0U, 0) == 0)
		return;
	for (int fd = 3; fd < 65536; fd++)
		if (fd != keep)
			close(fd);
}

/* The child must not keep the device alive: if it held a copy of a vfio
 * fd or of a BAR mapping, the unbind it performs would wait for itself and
 * never finish. Nor may it hold our stdout, or the host reading the
 * report (e.g. over SSH) would wait for the child instead of for us. */
static _Noreturn void run_child(struct htab *h, const char *path,
				const char *value, int wfd)
{
	struct bg_result res = { 0 };
	const char *stage;
	struct sysret r;
	int null = open("/dev/null", O_RDWR);

	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	close_fds_except(wfd);
	/* H_NVME holds the BAR0 mapping of an nvme-enable'd device. */
	for (size_t i = 0; i < h->n; i++)
		if ((h->v[i].kind == H_MAP || h->v[i].kind == H_NVME) &&
		    h->v[i].addr != MAP_FAILED)
			munmap(h->v[i].addr, h->v[i].len);

	r = sysfs_write(path, value, &stage);
	res.ret = r.ret;
	res.err = r.err;
	snprintf(res.stage, sizeof(res.stage), "%s", stage);
	if (write(wfd, &res, sizeof(res)) != (ssize_t)sizeof(res))
		_exit(1);
	_exit(0);
}

void op_sysfs_write_bg(struct htab *h, const struct step *s)
{
	struct handle *hd;
	struct sysret r;
	int p[2];

	r = sysret_of(pipe2(p, O_CLOEXEC));
	if (r.ret < 0) {
		htab_put(h, step_bg_name(s, 2), H_BG);
		emit_sysret(r);
		json_kv_string("stage", "pipe");
		json_kv_null("pid");
		return;
	}
	/* Anything buffered would otherwise be in the child's copy too. */
	json_flush();
	r = sysret_of(fork());
	if (r.ret == 0)
		run_child(h, s->pos[0], s->pos[1], p[1]);
	close(p[1]);
	hd = htab_put(h, step_bg_name(s, 2), H_BG);
	hd->val = r.ret;
	if (r.ret > 0)
		hd->pipe_fd = p[0];
	else
		close(p[0]);
	emit_sysret(r);
	json_kv_string("stage", "fork");
	json_key("pid");
	if (r.ret > 0)
		json_int(r.ret);
	else
		json_null();
}

static void collect(struct handle *hd, int status)
{
	struct bg_result res;

	hd->done = true;
	hd->bg_status = status;
	if (read(hd->pipe_fd, &res, sizeof(res)) == (ssize_t)sizeof(res)) {
		hd->have_result = true;
		hd->bg_ret = res.ret;
		hd->bg_err = res.err;
		res.stage[sizeof(res.stage) - 1] = '\0';
		snprintf(hd->bg_stage, sizeof(hd->bg_stage), "%s", res.stage);
	}
	close(hd->pipe_fd);
	hd->pipe_fd = -1;
}

void op_wait_bg(struct htab *h, const struct step *s)
{
	struct handle *hd = htab_get(h, s->pos[0]);
	long long deadline = mono_ms() + scaled_ms((long long)step_num(s, 1));
	int wait_err = 0;

	/* pid <= 0 means fork failed; waitpid(-1) would reap an unrelated
	 * child, so report ECHILD without asking. */
	if (!hd->done && hd->val <= 0)
		wait_err = ECHILD;
	while (!hd->done && !wait_err) {
		int status;
		pid_t w = waitpid((pid_t)hd->val, &status, WNOHANG);

		if (w == (pid_t)hd->val) {
			collect(hd, status);
			break;
		}
		if (w < 0 && errno != EINTR) {
			wait_err = errno;
			break;
		}
		if (mono_ms() >= deadline)
			break;
		usleep(10000);
	}

	/* ret/errno describe the child's write once it has finished; until
	 * then there is no result, hence null. */
	if (hd->have_result) {
		struct sysret r = { hd->bg_ret, hd->bg_err };

		emit_sysret(r);
	} else {
		json_kv_null("ret");
		json_kv_null("errno");
		json_kv_null("errname");
	}
	json_kv_string("stage", hd->have_result ? hd->bg_stage : NULL);
	json_kv_bool("finished", hd->done);
	json_key("pid");
	if (hd->val > 0)
		json_int(hd->val);
	else
		json_null();
	json_key("signal");
	if (hd->done && WIFSIGNALED(hd->bg_status))
		json_int(WTERMSIG(hd->bg_status));
	else
		json_null();
	json_kv_errname("wait_error", wait_err);
}
