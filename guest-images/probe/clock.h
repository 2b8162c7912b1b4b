/* Monotonic milliseconds, a short pause for steps that poll a device, and
 * the time scale the host applies to its own deadlines. */
#ifndef PROBE_CLOCK_H
#define PROBE_CLOCK_H

#include <time.h>

/* Set by main from `--time-scale N` (default 1). Under TCG the host scales
 * its deadlines (x4); every in-guest timeout that waits for the emulated
 * machine to do something scales the same way, so a slow host does not
 * turn "not yet" into "never". Waits that are not timeouts (sleep MS, the
 * e1000 RX settle time, which is QEMU's own clock) do not scale. */
extern unsigned probe_time_scale;

static inline long long scaled_ms(long long ms)
{
	return ms * (long long)probe_time_scale;
}

static inline long long mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Polls sleep between reads: under TCG the emulated device (a QEMU bottom
 * half or timer) needs host CPU time to make progress. */
static inline void poll_pause(void)
{
	struct timespec t = { 0, 50 * 1000 };

	nanosleep(&t, NULL);
}

#endif
