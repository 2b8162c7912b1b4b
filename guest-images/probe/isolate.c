#define _GNU_SOURCE
#include "isolate.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

struct sysret run_isolated(isolated_fn fn, int fd, const void *ctx, int timeout_ms, int *signal)
{
	struct sysret r = { -1, PROBE_ERR_KILLED };
	struct pollfd pfd;
	int pipefd[2];
	int status;
	pid_t pid;

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
		struct sysret out = fn(fd, ctx);

		close(pipefd[0]);
		if (write(pipefd[1], &out, sizeof(out)) != (ssize_t)sizeof(out))
			_exit(2);
		_exit(0);
	}
	close(pipefd[1]);
	pfd.fd = pipefd[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, timeout_ms) <= 0) {
		r.err = PROBE_ERR_HUNG;
		close(pipefd[0]);
		return r;
	}
	if (read(pipefd[0], &r, sizeof(r)) != (ssize_t)sizeof(r)) {
		r.ret = -1;
		r.err = PROBE_ERR_KILLED;
	}
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) == pid && WIFSIGNALED(status)) {
		*signal = WTERMSIG(status);
		r.ret = -1;
		r.err = PROBE_ERR_KILLED;
	}
	return r;
}
