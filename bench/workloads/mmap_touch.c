/* mmap 1 MiB anonymous, write one byte per 4 KiB page, munmap. */
#include "bench.h"
#include <sys/mman.h>

#define SIZE (1 << 20)

static void once(void)
{
	volatile char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	for (long off = 0; off < SIZE; off += 4096)
		p[off] = 1;
	if (munmap((void *)p, SIZE) != 0)
		die("munmap");
}

int main(int argc, char **argv)
{
	long long min_ns = min_ns_arg(argc, argv);
	double ns;
	MEASURE(min_ns, ns, once());
	print_ns_per_op(ns);
	return 0;
}
