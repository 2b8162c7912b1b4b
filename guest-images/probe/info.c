#define _GNU_SOURCE
#include "info.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"

#define PCI_DEVICES "/sys/bus/pci/devices"

/* Contents of a one-line sysfs attribute without the trailing newline, or
 * NULL when it cannot be read. */
static char *read_attr(const char *bdf, const char *attr, char *buf, size_t len)
{
	char path[PATH_MAX];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/%s", bdf, attr);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* Basename of a symlink's target, or NULL when there is no such link
 * (no driver bound, no IOMMU group). */
static char *link_base(const char *bdf, const char *link, char *buf, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;
	char *slash;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/%s", bdf, link);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return NULL;
	target[n] = '\0';
	slash = strrchr(target, '/');
	snprintf(buf, len, "%s", slash ? slash + 1 : target);
	return buf;
}

/* The device's cdev appears as <bdf>/vfio-dev/vfioN while it is bound to
 * a VFIO driver; the /dev node has the same name. */
static char *vfio_cdev(const char *bdf, char *buf, size_t len)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	char *found = NULL;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/vfio-dev", bdf);
	d = opendir(path);
	if (!d)
		return NULL;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "vfio", 4) == 0) {
			snprintf(buf, len, "/dev/vfio/devices/%s", e->d_name);
			found = buf;
			break;
		}
	closedir(d);
	return found;
}

static int not_dot(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

static void emit_attr(const char *key, const char *bdf, const char *attr)
{
	char buf[64];

	json_kv_string(key, read_attr(bdf, attr, buf, sizeof(buf)));
}

int info_main(void)
{
	struct dirent **list;
	char buf[PATH_MAX], msg[128];
	int n = scandir(PCI_DEVICES, &list, not_dot, alphasort);

	if (n < 0) {
		snprintf(msg, sizeof(msg), "cannot list " PCI_DEVICES ": %s", strerror(errno));
		return json_error_document(msg);
	}
	json_begin_object();
	json_key("devices");
	json_begin_array();
	for (int i = 0; i < n; i++) {
		const char *bdf = list[i]->d_name;
		char *group;

		json_begin_object();
		json_kv_string("bdf", bdf);
		emit_attr("vendor", bdf, "vendor");
		emit_attr("device", bdf, "device");
		emit_attr("class", bdf, "class");
		json_kv_string("driver", link_base(bdf, "driver", buf, sizeof(buf)));
		json_key("iommu_group");
		group = link_base(bdf, "iommu_group", buf, sizeof(buf));
		if (group)
			json_int(strtol(group, NULL, 10));
		else
			json_null();
		json_kv_string("vfio_dev", vfio_cdev(bdf, buf, sizeof(buf)));
		json_end_object();
		free(list[i]);
	}
	free(list);
	json_end_array();
	json_end_object();
	return json_finish() < 0 ? 1 : 0;
}
