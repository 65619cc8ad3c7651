/* fork, the child execs /bin/true, the parent waits for it. */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void once(void)
{
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		char *argv[] = { "/bin/true", NULL };
		execve(argv[0], argv, environ);
		_exit(127);
	}
	int status;
	if (waitpid(child, &status, 0) != child)
		die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "/bin/true failed: status %#x\n", status);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	long long min_ns = min_ns_arg(argc, argv);
	double ns;
	MEASURE(min_ns, ns, once());
	print_ns_per_op(ns);
	return 0;
}
