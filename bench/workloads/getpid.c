/* getpid loop: one trivial trapped syscall, made with syscall(2) so no libc cache answers it. */
#include "bench.h"
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long long min_ns = min_ns_arg(argc, argv);
	double ns;
	MEASURE(min_ns, ns, syscall(SYS_getpid));
	print_ns_per_op(ns);
	return 0;
}
