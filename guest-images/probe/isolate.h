/* Running one syscall in a child process, so that a kernel oops (which kills
 * the task that hit it) or a call that never returns costs one record, not
 * the rest of the sweep. A regression that lets ioctls reach a driver that
 * was never opened can crash on the first of them; the reviewer still wants
 * to see every other one that got through.
 */
#ifndef PROBE_ISOLATE_H
#define PROBE_ISOLATE_H

#include <stddef.h>

#include "result.h"

typedef struct sysret (*isolated_fn)(int fd, const void *ctx);

/* Runs fn(fd, ctx) in a forked child (stdio on /dev/null) and returns its
 * result. If the child is killed, err is PROBE_ERR_KILLED and *signal is
 * set; if it has not answered within timeout_ms (already scaled by the
 * caller; a signal interrupting the wait does not shorten it), err is
 * PROBE_ERR_HUNG and the child is left behind: a task stuck in the kernel
 * cannot be killed. */
struct sysret run_isolated(isolated_fn fn, int fd, const void *ctx, int timeout_ms, int *signal);

/* As run_isolated for each of n contexts (ctx_size bytes apart), but one
 * child runs them in order as long as it lives: a fork per call costs
 * ~9 ms under TCG, the call itself microseconds. The call a child dies in
 * or hangs in gets that result (and signal), as run_isolated would give it,
 * and a new child goes on with the next. out and signals hold n each. */
void run_isolated_each(isolated_fn fn, int fd, const void *ctxs, size_t ctx_size, size_t n,
		       int timeout_ms, struct sysret *out, int *signals);

#endif
