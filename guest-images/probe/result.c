#include "result.h"

#include <stdio.h>

#include "json.h"

const char *errname(int err, struct errname_buf *buf)
{
	switch (err) {
	case 0: return NULL;
#define E(x) case x: return #x;
	/* Aliases (EWOULDBLOCK, EDEADLOCK, ENOTSUP) are left out: on Linux they
	 * share a value with EAGAIN, EDEADLK, EOPNOTSUPP. */
	E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG)
	E(ENOEXEC) E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES)
	E(EFAULT) E(ENOTBLK) E(EBUSY) E(EEXIST) E(EXDEV) E(ENODEV)
	E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY)
	E(ETXTBSY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK) E(EPIPE)
	E(EDOM) E(ERANGE) E(EDEADLK) E(ENAMETOOLONG) E(ENOLCK) E(ENOSYS)
	E(ENOTEMPTY) E(ELOOP) E(ENOMSG) E(EIDRM) E(ENOLINK) E(EPROTO)
	E(EBADMSG) E(EOVERFLOW) E(EBADFD) E(EMSGSIZE) E(EPROTONOSUPPORT)
	E(EOPNOTSUPP) E(EADDRINUSE) E(EADDRNOTAVAIL) E(ENETDOWN)
	E(ENOBUFS) E(ENOTCONN) E(ETIMEDOUT) E(ECONNREFUSED) E(EHOSTUNREACH)
	E(EALREADY) E(EINPROGRESS) E(ESTALE) E(EDQUOT) E(ECANCELED)
	E(EOWNERDEAD) E(ENOTRECOVERABLE) E(ERFKILL) E(EHWPOISON)
	E(ENOMEDIUM) E(EMEDIUMTYPE) E(EREMOTEIO) E(ENOKEY) E(EKEYEXPIRED)
#undef E
	/* Kernel-internal codes (include/linux/errno.h) are not in the uAPI
	 * headers, but a kernel bug can leak them to user space (ENOTSUPP and
	 * ENOIOCTLCMD are the classic cases). Naming them makes such a leak
	 * obvious in a report instead of an anonymous E524. */
	/* Not errnos: outcomes of an isolated call (isolate.h). */
	case PROBE_ERR_KILLED: return "KILLED";
	case PROBE_ERR_HUNG: return "HUNG";
	case 512: return "ERESTARTSYS";
	case 513: return "ERESTARTNOINTR";
	case 514: return "ERESTARTNOHAND";
	case 515: return "ENOIOCTLCMD";
	case 516: return "ERESTART_RESTARTBLOCK";
	case 517: return "EPROBE_DEFER";
	case 518: return "EOPENSTALE";
	case 519: return "ENOPARAM";
	case 521: return "EBADHANDLE";
	case 522: return "ENOTSYNC";
	case 523: return "EBADCOOKIE";
	case 524: return "ENOTSUPP";
	case 525: return "ETOOSMALL";
	case 526: return "ESERVERFAULT";
	case 527: return "EBADTYPE";
	case 528: return "EJUKEBOX";
	case 529: return "EIOCBQUEUED";
	case 530: return "ERECALLCONFLICT";
	}
	snprintf(buf->s, sizeof(buf->s), "E%d", err);
	return buf->s;
}

void json_kv_errname(const char *key, int err)
{
	struct errname_buf b;

	json_kv_string(key, errname(err, &b));
}

void emit_sysret(struct sysret r)
{
	json_kv_int("ret", r.ret);
	json_kv_int("errno", r.err);
	json_kv_errname("errname", r.err);
}

void emit_sysret_object(struct sysret r)
{
	json_begin_object();
	emit_sysret(r);
	json_end_object();
}
