/* The parked-fd sweep: every way to touch a VFIO device fd, attempted on
 * one that has not been bound to an iommufd (and must therefore refuse all
 * of them). */
#ifndef PROBE_PARKED_H
#define PROBE_PARKED_H

/* Writes a JSON array of per-operation results at the current position. */
void parked_sweep(int fd);

/* `vfio-probe parked PATH`: open, sweep, close. Returns the exit status. */
int parked_main(const char *path);

#endif
