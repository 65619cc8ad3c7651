/* stat(2) of an existing file: `stat MIN_MS FILE`. */
#include "bench.h"
#include <sys/stat.h>

int main(int argc, char **argv)
{
	long long min_ns = min_ns_arg(argc, argv);
	if (argc < 3) {
		fprintf(stderr, "usage: %s MIN_MS FILE\n", argv[0]);
		return 2;
	}
	struct stat st;
	double ns;
	MEASURE(min_ns, ns, if (stat(argv[2], &st) != 0) die(argv[2]));
	print_ns_per_op(ns);
	return 0;
}
