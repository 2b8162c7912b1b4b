#define _GNU_SOURCE
#include "scratch.h"

#include <string.h>
#include <sys/mman.h>

static void *page;

int scratch_init(void)
{
	/* mmap rather than a static array: it guarantees the buffer is a page
	 * of its own, so "no ioctl can read past it" into our other data. */
	page = mmap(NULL, SCRATCH_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		page = NULL;
		return -1;
	}
	return 0;
}

void *scratch(void)
{
	memset(page, 0, SCRATCH_SIZE);
	return page;
}
