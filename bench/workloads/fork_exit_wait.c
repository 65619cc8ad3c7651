/* fork, the child exits at once, the parent waits for it. */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

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
	double ns;
	MEASURE(min_ns, ns, once());
	print_ns_per_op(ns);
	return 0;
}
