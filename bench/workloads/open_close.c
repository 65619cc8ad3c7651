/* open + close of an existing file: `open_close MIN_MS FILE`. */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long long min_ns = min_ns_arg(argc, argv);
	if (argc < 3) {
		fprintf(stderr, "usage: %s MIN_MS FILE\n", argv[0]);
		return 2;
	}
	double ns;
	MEASURE(min_ns, ns, {
		int fd = open(argv[2], O_RDONLY);
		if (fd < 0)
			die(argv[2]);
		close(fd);
	});
	print_ns_per_op(ns);
	return 0;
}
