/* open + read 4 KiB + close of an existing file: `open_read_close MIN_MS FILE`. */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

static char buf[4096];

static void once(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path);
	if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		die("read 4 KiB");
	close(fd);
}

int main(int argc, char **argv)
{
	long long min_ns = min_ns_arg(argc, argv);
	if (argc < 3) {
		fprintf(stderr, "usage: %s MIN_MS FILE\n", argv[0]);
		return 2;
	}
	double ns;
	MEASURE(min_ns, ns, once(argv[2]));
	print_ns_per_op(ns);
	return 0;
}
