/* Writing one value to a sysfs attribute, shared by sysfs-write and its
 * background variant. */
#ifndef PROBE_SYSFS_H
#define PROBE_SYSFS_H

#include "result.h"

/* VALUE is one script word, so it cannot hold spaces or newlines; these
 * escapes are decoded: \n newline, \s space, \\ backslash. Anything else
 * is written byte for byte, with no newline added (sysfs attributes that
 * matter here - unbind, bind, drivers_probe, driver_override - accept the
 * bare value; "\n" alone clears driver_override). */

/* Opens PATH write-only, writes the decoded VALUE once, closes. *stage is
 * "open" or "write": which syscall the result belongs to. */
struct sysret sysfs_write(const char *path, const char *value, const char **stage);

#endif
