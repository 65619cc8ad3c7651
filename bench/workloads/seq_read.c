/* A whole file read sequentially in 1 MiB reads: `seq_read MIN_MS FILE`, prints MiB/s. */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static char buf[CHUNK];

static long long once(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path);
	long long total = 0;
	ssize_t n;
	while ((n = read(fd, buf, CHUNK)) > 0)
		total += n;
	if (n < 0)
		die("read");
	close(fd);
	return total;
}

int main(int argc, char **argv)
{
	long long min_ns = min_ns_arg(argc, argv);
	if (argc < 3) {
		fprintf(stderr, "usage: %s MIN_MS FILE\n", argv[0]);
		return 2;
	}
	long long bytes = once(argv[2]);
	if (bytes == 0) {
		fprintf(stderr, "%s is empty\n", argv[2]);
		return 1;
	}
	double ns;
	MEASURE(min_ns, ns, once(argv[2]));
	printf("%.1f\n", (double)bytes / (1 << 20) / (ns / 1e9));
	return 0;
}
