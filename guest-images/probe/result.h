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

/* Room for a formatted unknown value: "E-2147483648" and its NUL. */
struct errname_buf {
	char s[16];
};

/* Symbolic name of an errno value; NULL for 0. An unknown value is written
 * "E<num>" into the caller's buf (and buf->s returned), so a name can be
 * kept while other names are looked up. */
const char *errname(int err, struct errname_buf *buf);

/* "KEY": the name of err, or null for 0. */
void json_kv_errname(const char *key, int err);

/* Writes "ret", "errno", "errname" (null when the call succeeded) into the
 * object currently open. */
void emit_sysret(struct sysret r);

/* The same fields as a standalone object, for "open"/"close" records. */
void emit_sysret_object(struct sysret r);

#endif
