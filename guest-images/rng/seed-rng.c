/*
 * lab-seed-rng FILE: credits the bytes of FILE to the guest kernel's entropy pool
 * (RNDADDENTROPY), so its CRNG is ready before the SSH server first asks for random bytes.
 *
 * Without it the guest has no entropy source the kernel trusts (no RDRAND under TCG's
 * default CPU, no virtio-rng, no boot loader seed with a PVH boot), and the first getrandom()
 * after boot -- dropbear's, on the first connection -- waits while the kernel gathers timer
 * jitter: about a second under TCG, on every boot. The host writes a fresh random seed into
 * each run's key archive; a test guest has nothing to protect from whoever wrote its initramfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define SEED_MAX 512

int main(int argc, char **argv)
{
	struct {
		struct rand_pool_info info;
		unsigned char bytes[SEED_MAX];
	} seed;
	ssize_t n;
	int fd, rnd;

	if (argc != 2) {
		fprintf(stderr, "usage: lab-seed-rng FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "lab-seed-rng: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	n = read(fd, seed.bytes, sizeof(seed.bytes));
	close(fd);
	if (n <= 0) {
		fprintf(stderr, "lab-seed-rng: %s: %s\n", argv[1], n < 0 ? strerror(errno) : "empty");
		return 1;
	}
	rnd = open("/dev/random", O_WRONLY | O_CLOEXEC);
	if (rnd < 0) {
		fprintf(stderr, "lab-seed-rng: open /dev/random: %s\n", strerror(errno));
		return 1;
	}
	seed.info.entropy_count = (int)n * 8;
	seed.info.buf_size = (int)n;
	if (ioctl(rnd, RNDADDENTROPY, &seed.info) < 0) {
		fprintf(stderr, "lab-seed-rng: RNDADDENTROPY: %s\n", strerror(errno));
		close(rnd);
		return 1;
	}
	close(rnd);
	return 0;
}
