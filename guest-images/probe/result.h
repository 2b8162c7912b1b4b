/* How the outcome of one syscall is reported: "ret", "errno", "errname".
 *
 * The probe never judges; it records exactly what the kernel returned so the
 * host can compare against the expected contract.
 */
#ifndef PROBE_RESULT_H
#define PROBE_RESULT_H

#include <errno.h>

/* Outcomes that are not errnos: the call killed its process (a kernel oops
 * kills the task that hit it), or did not return in time. */
#define PROBE_ERR_KILLED 100001
#define PROBE_ERR_HUNG 100002

struct sysret {
	long long ret;
	int err;	/* 0 when ret >= 0 */
};

/* errno is read after the syscall expression has been evaluated (it is the
 * argument), and before anything else can clobber it. */
static inline struct sysret sysret_of(long long ret)
{
	struct sysret r = { ret, ret < 0 ? errno : 0 };
	return r;
}

/* Symbolic name of an errno value; "E<num>" for unknown ones; NULL for 0.
 * The returned string for unknown values lives in a static buffer. */
const char *errname(int err);

/* Writes "ret", "errno", "errname" (null when the call succeeded) into the
 * object currently open. */
void emit_sysret(struct sysret r);

/* The same fields as a standalone object, for "open"/"close" records. */
void emit_sysret_object(struct sysret r);

#endif
