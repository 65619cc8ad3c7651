/*
 * The floor of the ptrace mechanism: one emulated syscall under
 * PTRACE_SYSEMU, with PTRACE_GETREGS and PTRACE_SETREGS at each stop, as a
 * tracer that answers getpid itself would do it.
 * `floor_ptrace MIN_MS same|cross`: tracer and tracee pinned to the same CPU
 * or to two different ones. Prints ns per round trip; exits 77 when `cross`
 * is asked for on a machine that lets this process use only one CPU.
 */
#include "bench.h"
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static void round_trip(pid_t child)
{
	struct user_regs_struct regs;
	int status;
	if (ptrace(PTRACE_SYSEMU, child, 0, 0) != 0)
		die("PTRACE_SYSEMU");
	if (waitpid(child, &status, 0) != child)
		die("waitpid");
	if (!WIFSTOPPED(status)) {
		fprintf(stderr, "tracee did not stop: status %#x\n", status);
		exit(1);
	}
	if (ptrace(PTRACE_GETREGS, child, 0, &regs) != 0)
		die("PTRACE_GETREGS");
	regs.rax = 4242;
	if (ptrace(PTRACE_SETREGS, child, 0, &regs) != 0)
		die("PTRACE_SETREGS");
}

int main(int argc, char **argv)
{
	long long min_ns = min_ns_arg(argc, argv);
	if (argc < 3 || (strcmp(argv[2], "same") != 0 && strcmp(argv[2], "cross") != 0)) {
		fprintf(stderr, "usage: %s MIN_MS same|cross\n", argv[0]);
		return 2;
	}
	int cross = strcmp(argv[2], "cross") == 0;
	int tracer_cpu = pick_cpu(0);
	int tracee_cpu = cross ? pick_cpu(1) : tracer_cpu;
	if (tracer_cpu < 0 || tracee_cpu < 0) {
		errno = ENODEV;
		not_applicable("a second CPU");
	}
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		pin_to(tracee_cpu);
		if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0)
			die("PTRACE_TRACEME");
		raise(SIGSTOP);
		for (;;)
			syscall(SYS_getpid);
	}
	pin_to(tracer_cpu);
	int status;
	if (waitpid(child, &status, 0) != child || !WIFSTOPPED(status))
		die("waiting for the tracee to stop");
	if (ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD) != 0)
		die("PTRACE_SETOPTIONS");
	double ns;
	MEASURE(min_ns, ns, round_trip(child));
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	print_ns_per_op(ns);
	return 0;
}
