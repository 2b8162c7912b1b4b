/* Monotonic milliseconds and a short pause, for steps that poll a device. */
#ifndef PROBE_CLOCK_H
#define PROBE_CLOCK_H

#include <time.h>

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
