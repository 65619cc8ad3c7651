/* create (O_CREAT|O_EXCL) + close + unlink of a new file in a directory:
 * `create_unlink MIN_MS DIR`. */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long long min_ns = min_ns_arg(argc, argv);
	if (argc < 3) {
		fprintf(stderr, "usage: %s MIN_MS DIR\n", argv[0]);
		return 2;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/ward-bench-cu-%d", argv[2], (int)getpid());
	double ns;
	MEASURE(min_ns, ns, {
		int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
		if (fd < 0)
			die(path);
		close(fd);
		if (unlink(path) != 0)
			die("unlink");
	});
	print_ns_per_op(ns);
	return 0;
}
