/*
 * The floor of the systrap mechanism: getpid trapped by a seccomp filter
 * (SECCOMP_RET_TRAP), answered through a SIGSYS handler.
 * `floor_seccomp MIN_MS local|same|cross`:
 *   local  the handler answers by itself (the in-process floor);
 *   same   the handler writes the request to a shared page, futex-wakes
 *          another process and sleeps on a futex until it answers; both
 *          processes pinned to one CPU;
 *   cross  the same hand-off with the two processes on two CPUs;
 *   spin   the two processes on two CPUs, each spinning on the shared page
 *          instead of sleeping (what ward's sentry does for quick callers).
 * Prints ns per trapped call; exits 77 when `cross` or `spin` is asked for
 * with one CPU.
 */
#include "bench.h"
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

struct shared {
	_Atomic int req;   /* sequence number of the last request; -1: stop */
	_Atomic int resp;  /* sequence number of the last answer */
	_Atomic long value;
};

static struct shared *sh;
static int local_mode;
static int spin_mode;
static int seq;

static void futex_wait(_Atomic int *word, int expected)
{
	syscall(SYS_futex, word, FUTEX_WAIT, expected, NULL, NULL, 0);
}

static void futex_wake(_Atomic int *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void on_sigsys(int sig, siginfo_t *info, void *context)
{
	(void)sig;
	(void)info;
	ucontext_t *uc = context;
	if (local_mode) {
		uc->uc_mcontext.gregs[REG_RAX] = 4242;
		return;
	}
	int s = ++seq;
	atomic_store(&sh->req, s);
	int r;
	if (spin_mode) {
		while (atomic_load(&sh->resp) != s)
			__builtin_ia32_pause();
	} else {
		futex_wake(&sh->req);
		while ((r = atomic_load(&sh->resp)) != s)
			futex_wait(&sh->resp, r);
	}
	uc->uc_mcontext.gregs[REG_RAX] = atomic_load(&sh->value);
}

static void install_filter(void)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getpid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		die("PR_SET_NO_NEW_PRIVS");
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
		die("seccomp");
}

/* The trapping side: installs the handler and filter, measures, reports. */
static int app(long long min_ns, int cpu)
{
	if (cpu >= 0)
		pin_to(cpu);
	struct sigaction sa = { 0 };
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSYS, &sa, NULL) != 0)
		die("sigaction");
	install_filter();
	double ns;
	MEASURE(min_ns, ns, if (syscall(SYS_getpid) != 4242) { errno = EPROTO; die("trapped getpid"); });
	print_ns_per_op(ns);
	return 0;
}

/* The answering side: serves requests until told to stop. */
static void server(void)
{
	int last = 0;
	for (;;) {
		int r;
		while ((r = atomic_load(&sh->req)) == last) {
			if (spin_mode)
				__builtin_ia32_pause();
			else
				futex_wait(&sh->req, last);
		}
		if (r < 0)
			return;
		last = r;
		atomic_store(&sh->value, 4242);
		atomic_store(&sh->resp, r);
		if (!spin_mode)
			futex_wake(&sh->resp);
	}
}

int main(int argc, char **argv)
{
	long long min_ns = min_ns_arg(argc, argv);
	const char *mode = argc >= 3 ? argv[2] : "";
	if (strcmp(mode, "local") == 0) {
		local_mode = 1;
		return app(min_ns, pick_cpu(0));
	}
	spin_mode = strcmp(mode, "spin") == 0;
	if (strcmp(mode, "same") != 0 && strcmp(mode, "cross") != 0 && !spin_mode) {
		fprintf(stderr, "usage: %s MIN_MS local|same|cross|spin\n", argv[0]);
		return 2;
	}
	int server_cpu = pick_cpu(0);
	int app_cpu = strcmp(mode, "same") == 0 ? server_cpu : pick_cpu(1);
	if (server_cpu < 0 || app_cpu < 0) {
		errno = ENODEV;
		not_applicable("a second CPU");
	}
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap");
	fflush(stdout);
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		int rc = app(min_ns, app_cpu);
		atomic_store(&sh->req, -1);
		if (!spin_mode)
			futex_wake(&sh->req);
		_exit(rc);
	}
	pin_to(server_cpu);
	server();
	int status;
	if (waitpid(child, &status, 0) != child)
		die("waitpid");
	if (!WIFEXITED(status)) {
		fprintf(stderr, "the trapping process died: status %#x\n", status);
		return 1;
	}
	return WEXITSTATUS(status);
}
