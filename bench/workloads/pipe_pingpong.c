/* One byte there and back between two processes over two pipes: ns per round trip. */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long long min_ns = min_ns_arg(argc, argv);
	int there[2], back[2];
	if (pipe(there) != 0 || pipe(back) != 0)
		die("pipe");
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		close(there[1]);
		close(back[0]);
		char c;
		while (read(there[0], &c, 1) == 1)
			if (write(back[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(there[0]);
	close(back[1]);
	char c = 'x';
	double ns;
	MEASURE(min_ns, ns,
		if (write(there[1], &c, 1) != 1 || read(back[0], &c, 1) != 1)
			die("ping-pong"));
	close(there[1]);
	int status;
	if (waitpid(child, &status, 0) != child)
		die("waitpid");
	print_ns_per_op(ns);
	return 0;
}
