/* The parked-fd sweep: every way to touch a VFIO device fd, attempted on
 * one that has not been bound to an iommufd (and must therefore refuse all
 * of them). */
#ifndef PROBE_PARKED_H
#define PROBE_PARKED_H

/* Writes a JSON array of per-operation results at the current position and
 * returns how many records it wrote. */
int parked_sweep(int fd);

/* Writes "swept": what the sweep covered (records written, the ioctl
 * numbers swept, the ones skipped), so the host checks the report against
 * the probe's own account instead of a count copied into scenarios. */
void parked_emit_swept(int records);

/* `vfio-probe parked PATH`: open, sweep, close. Returns the exit status. */
int parked_main(const char *path);

#endif
