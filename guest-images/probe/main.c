/* vfio-probe: syscall mechanics for the iommufd lab's guest.
 *
 * It runs inside the test VM, performs exactly the operations the host
 * asks for, and reports every return value and errno as JSON on stdout.
 * Judging is the host's job: keeping verdicts out of the guest means a
 * changed expectation never requires rebuilding the guest image.
 *
 * Exit status: 0 the command ran (failed syscalls are data), 1 the probe
 * itself could not run, 2 usage error.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

#include "info.h"
#include "parked.h"
#include "script.h"

static const char usage_text[] =
	"usage: vfio-probe [--time-scale N] info\n"
	"       vfio-probe [--time-scale N] parked PATH\n"
	"       vfio-probe [--time-scale N] run STEP [STEP...]\n"
	"\n"
	"--time-scale N multiplies every timeout (defaults, timeout=MS, wait-bg)\n"
	"by N, the way the host scales its deadlines under TCG.\n"
	"\n"
	"Each STEP is one argument of space-separated words. H names a new\n"
	"handle; DEV, IFD, C, G refer to fd handles and IOAS, ID, PTID to id\n"
	"handles, or take a raw number written #N (e.g. #-1).\n"
	"\n"
	"  open H PATH                  close H\n"
	"  iommufd H                    ioas-alloc IFD H\n"
	"  bind DEV IFD [flags=N] [argsz=N] [null]   (creates DEV.devid)\n"
	"  attach DEV PTID [flags=N] [argsz=N] [null]\n"
	"  detach DEV [flags=N] [argsz=N] [null]\n"
	"  destroy IFD ID\n"
	"  map IFD IOAS IOVA LEN [ro]   unmap IFD IOAS IOVA LEN   (IOVA: address)\n"
	"  iova-ranges IFD IOAS [N]\n"
	"  raw-iommufd IFD CMDNR SIZE [trail=BYTE] [flags=N]\n"
	"  get-info DEV                 region-info DEV INDEX\n"
	"  read DEV OFFSET LEN          write DEV OFFSET LEN   (writes zeros)\n"
	"  mmap DEV OFFSET LEN          munmap DEV             (DEV.map)\n"
	"  group-open H GROUPNUM        container-open H\n"
	"  group-set-container G C      set-iommu C TYPE\n"
	"  group-get-device H G BDF\n"
	"  sysfs-write PATH VALUE       sysfs-write-bg PATH VALUE [H=bg]\n"
	"  wait-bg H TIMEOUT_MS         exists PATH\n"
	"  sleep MS                     parked DEV\n"
	"DMA (U names a buffer; addresses take N or BUF.gpa[+OFF]):\n"
	"  buf U LEN [fill=BYTE]        buf-fill U [fill=BYTE]\n"
	"  buf-check U                  map-buf IFD IOAS U IOVA [ro]\n"
	"  nvme-enable DEV IFD IOAS SQ_IOVA CQ_IOVA [nomap] [timeout=MS]\n"
	"      (creates DEV.nvme, DEV.sq, DEV.cq; SQ/CQ_IOVA may be own-gpa)\n"
	"  nvme-identify DEV PRP1 [timeout=MS]      nvme-disable DEV [timeout=MS]\n"
	"  e1000-loopback DEV IFD IOAS TX_RING_IOVA RX_RING_IOVA TX_BUF_IOVA\n"
	"      RX_BUF RX_BUF_IOVA [nomap] [nomap-rx] [timeout=MS]\n"
	"\n"
	"VALUE escapes: \\n newline, \\s space, \\\\ backslash.\n";

static int usage(FILE *to, int status)
{
	fputs(usage_text, to);
	return status;
}

unsigned probe_time_scale = 1;

/* Consumes a leading "--time-scale N"; false if N is not 1..1000. */
static bool parse_time_scale(int *argc, char ***argv)
{
	char *end;
	unsigned long n;

	if (*argc < 3 || strcmp((*argv)[1], "--time-scale") != 0)
		return true;
	n = strtoul((*argv)[2], &end, 10);
	if (!*(*argv)[2] || *end || n < 1 || n > 1000)
		return false;
	probe_time_scale = (unsigned)n;
	(*argv)[2] = (*argv)[0];
	*argv += 2;
	*argc -= 2;
	return true;
}

int main(int argc, char **argv)
{
	if (!parse_time_scale(&argc, &argv)) {
		fprintf(stderr, "vfio-probe: --time-scale takes a whole number from 1 to 1000\n");
		return 2;
	}
	if (argc < 2)
		return usage(stderr, 2);
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)
		return usage(stdout, 0);
	if (strcmp(argv[1], "info") == 0 && argc == 2)
		return info_main();
	if (strcmp(argv[1], "parked") == 0 && argc == 3)
		return parked_main(argv[2]);
	if (strcmp(argv[1], "run") == 0)
		return script_main(argc - 2, argv + 2);
	fprintf(stderr, "vfio-probe: bad command line\n");
	return usage(stderr, 2);
}
