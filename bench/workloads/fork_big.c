/* fork + exit + wait of a process with 100 MiB of touched memory:
 * `fork_big MIN_MS`. The child exits at once; the cost is the address
 * space's copy (or, in a sandbox, its copy-on-write set-up). */
#include "bench.h"
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (100L << 20)

static void once(void)
{
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0)
		_exit(0);
	int status;
	if (waitpid(child, &status, 0) != child)
		die("waitpid");
}

int main(int argc, char **argv)
{
	long long min_ns = min_ns_arg(argc, argv);
	char *mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	memset(mem, 0x5a, SIZE);
	double ns;
	MEASURE(min_ns, ns, once());
	print_ns_per_op(ns);
	return 0;
}
