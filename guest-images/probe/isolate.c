#define _GNU_SOURCE
#include "isolate.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"

/* A child that hangs in the kernel outlives the probe. Holding our stdout
 * it would keep the host's reader (SSH) waiting for an EOF that never
 * comes, so its stdio goes to /dev/null (or is closed). */
static void detach_stdio(void)
{
	int null = open("/dev/null", O_RDWR);

	for (int fd = 0; fd <= 2; fd++) {
		if (null >= 0)
			dup2(null, fd);
		else
			close(fd);
	}
	if (null > 2)
		close(null);
}

/* poll for the child's answer until timeout_ms have passed: a signal that
 * interrupts poll (EINTR) is not a hung call. Returns poll's result. */
static int wait_readable(int fd, int timeout_ms)
{
	long long deadline = mono_ms() + timeout_ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;

	for (;;) {
		long long left = deadline - mono_ms();

		n = poll(&pfd, 1, left > 0 ? (int)left : 0);
		if (n >= 0 || errno != EINTR)
			return n;
	}
}

struct sysret run_isolated(isolated_fn fn, int fd, const void *ctx, int timeout_ms, int *signal)
{
	struct sysret r = { -1, PROBE_ERR_KILLED };
	int pipefd[2];
	int status = 0;
	pid_t pid, waited;

	*signal = 0;
	/* Pending output would be written twice: by the child and the parent. */
	fflush(stdout);
	if (pipe(pipefd) < 0)
		return sysret_of(-1);
	pid = fork();
	if (pid < 0) {
		r = sysret_of(-1);
		close(pipefd[0]);
		close(pipefd[1]);
		return r;
	}
	if (pid == 0) {
		struct sysret out;

		close(pipefd[0]);
		detach_stdio();
		out = fn(fd, ctx);
		if (write(pipefd[1], &out, sizeof(out)) != (ssize_t)sizeof(out))
			_exit(2);
		_exit(0);
	}
	close(pipefd[1]);
	/* POLLHUP without data (the child died first) also ends the wait;
	 * the read below then fails and waitpid tells how it died. Only a
	 * real timeout, or a poll that itself failed, counts as hung. */
	if (wait_readable(pipefd[0], timeout_ms) <= 0) {
		r.err = PROBE_ERR_HUNG;
		close(pipefd[0]);
		return r;
	}
	if (read(pipefd[0], &r, sizeof(r)) != (ssize_t)sizeof(r)) {
		r.ret = -1;
		r.err = PROBE_ERR_KILLED;
	}
	close(pipefd[0]);
	while ((waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (waited == pid && WIFSIGNALED(status)) {
		*signal = WTERMSIG(status);
		r.ret = -1;
		r.err = PROBE_ERR_KILLED;
	}
	return r;
}

/* The child's status once it has ended: the signal that killed it, or 0. */
static int reap(pid_t pid)
{
	int status = 0;
	pid_t waited;

	while ((waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	return waited == pid && WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? n : (ssize_t)got;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

void run_isolated_each(isolated_fn fn, int fd, const void *ctxs, size_t ctx_size, size_t n,
		       int timeout_ms, struct sysret *out, int *signals)
{
	size_t next = 0;

	while (next < n) {
		int pipefd[2];
		pid_t pid;
		bool hung = false, died = false;

		fflush(stdout);
		if (pipe(pipefd) < 0)
			goto fail_rest;
		pid = fork();
		if (pid < 0) {
			close(pipefd[0]);
			close(pipefd[1]);
			goto fail_rest;
		}
		if (pid == 0) {
			close(pipefd[0]);
			detach_stdio();
			for (size_t i = next; i < n; i++) {
				struct sysret r = fn(fd, (const char *)ctxs + i * ctx_size);

				if (write(pipefd[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
					_exit(2);
			}
			_exit(0);
		}
		close(pipefd[1]);
		/* The answers come in order: the first one missing is the call
		 * the child hung in (it is left behind) or died in. */
		while (next < n) {
			signals[next] = 0;
			if (wait_readable(pipefd[0], timeout_ms) <= 0) {
				out[next++] = (struct sysret){ -1, PROBE_ERR_HUNG };
				hung = true;
				break;
			}
			if (read_full(pipefd[0], &out[next], sizeof(out[next])) != (ssize_t)sizeof(out[next])) {
				out[next] = (struct sysret){ -1, PROBE_ERR_KILLED };
				signals[next++] = reap(pid);
				died = true;
				break;
			}
			next++;
		}
		close(pipefd[0]);
		if (!hung && !died) {
			/* Killed after its last answer: that call's record says so,
			 * as run_isolated's would. */
			int sig = reap(pid);

			if (sig) {
				out[n - 1] = (struct sysret){ -1, PROBE_ERR_KILLED };
				signals[n - 1] = sig;
			}
		}
	}
	return;
fail_rest:
	for (struct sysret r = sysret_of(-1); next < n; next++) {
		out[next] = r;
		signals[next] = 0;
	}
}
