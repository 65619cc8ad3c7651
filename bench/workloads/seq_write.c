/*
 * 64 MiB written sequentially in 1 MiB writes to a new file, which is then
 * removed: `seq_write MIN_MS FILE`, prints MiB/s. Exits 77 when FILE cannot be
 * created (no writable place in this runtime).
 */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

#define CHUNK (1 << 20)
#define TOTAL (64LL << 20)

static char buf[CHUNK];

static void once(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die(path);
	for (long long done = 0; done < TOTAL; done += CHUNK)
		if (write(fd, buf, CHUNK) != CHUNK)
			die("write");
	if (close(fd) != 0)
		die("close");
}

int main(int argc, char **argv)
{
	long long min_ns = min_ns_arg(argc, argv);
	if (argc < 3) {
		fprintf(stderr, "usage: %s MIN_MS FILE\n", argv[0]);
		return 2;
	}
	const char *path = argv[2];
	memset(buf, 0x5a, sizeof(buf));
	int probe = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (probe < 0)
		not_applicable(path);
	close(probe);
	double ns;
	MEASURE(min_ns, ns, once(path));
	unlink(path);
	printf("%.1f\n", (double)(TOTAL >> 20) / (ns / 1e9));
	return 0;
}
