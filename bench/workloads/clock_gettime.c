/* clock_gettime(CLOCK_MONOTONIC) loop through libc: the vDSO where there is one. */
#include "bench.h"

int main(int argc, char **argv)
{
	long long min_ns = min_ns_arg(argc, argv);
	struct timespec ts;
	double ns;
	MEASURE(min_ns, ns, clock_gettime(CLOCK_MONOTONIC, &ts));
	print_ns_per_op(ns);
	return 0;
}
