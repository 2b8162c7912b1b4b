#define _GNU_SOURCE
#include "isolate.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
