#define _GNU_SOURCE
#include "sysfs.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t decode(const char *in, char *out)
{
	size_t n = 0;

	for (const char *p = in; *p; p++) {
		if (p[0] == '\\' && p[1]) {
			char c = p[1] == 'n' ? '\n' : p[1] == 's' ? ' ' :
				 p[1] == '\\' ? '\\' : 0;

			if (c) {
				out[n++] = c;
				p++;
				continue;
			}
		}
		out[n++] = *p;
	}
	return n;
}

struct sysret sysfs_write(const char *path, const char *value, const char **stage)
{
	char *buf = malloc(strlen(value) + 1);
	struct sysret r;
	size_t len;
	int fd;

	*stage = "open";
	if (!buf) {
		errno = ENOMEM;
		return sysret_of(-1);
	}
	len = decode(value, buf);
	r = sysret_of(open(path, O_WRONLY | O_CLOEXEC));
	if (r.ret >= 0) {
		fd = (int)r.ret;
		*stage = "write";
		r = sysret_of(write(fd, buf, len));
		close(fd);
	}
	free(buf);
	return r;
}
