/* Signal delivery: siginfo contents (kill, tgkill, sigqueue,
 * rt_sigqueueinfo), SA_RESETHAND, SA_NODEFER, the handler's mask, blocking
 * and pending (standard signals merge, real-time ones queue in order),
 * sigsuspend, rt_sigtimedwait, sigaltstack, register and FP state across
 * asynchronous handlers (rt_sigreturn), default actions, synchronous faults
 * (SIGSEGV, SIGFPE, SIGILL, SIGTRAP, SIGBUS), SIGPIPE, SIGCHLD, EINTR and
 * SA_RESTART, and kill/tgkill errors.
 *
 * Every delivery happens in a forked child under a deadline (scenario() and
 * run_child() in proc.h); only error paths run in the main process. */
#include "tap.h"
#include "proc.h"

#include <setjmp.h>
#include <sys/mman.h>
#include <sys/time.h>

static const char *self;

static volatile sig_atomic_t hits;
static siginfo_t got_info;

static void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags,
		    const sigset_t *mask)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = flags | SA_SIGINFO;
	if (mask)
		sa.sa_mask = *mask;
	else
		sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void on_info(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	got_info = *si;
	hits++;
}

static void block(int sig)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

static void unblock(int sig)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static int is_pending(int sig)
{
	sigset_t set;

	sigemptyset(&set);
	return sigpending(&set) == 0 && sigismember(&set, sig) == 1;
}

/* ---- siginfo ------------------------------------------------------------ */

static void siginfo_scenario(void *arg)
{
	union sigval val;
	siginfo_t info;
	int gate;
	pid_t pid;
	char c;
	int g[2];

	(void)arg;
	install(SIGUSR1, on_info, 0, NULL);
	hits = 0;
	memset(&got_info, 0, sizeof(got_info));
	kill(getpid(), SIGUSR1);
	S_TRUE("kill to self runs the SA_SIGINFO handler with si_signo SIGUSR1",
	       hits == 1 && got_info.si_signo == SIGUSR1);
	S_EQ("kill gives si_code SI_USER", got_info.si_code, SI_USER);
	S_TRUE("kill fills si_pid and si_uid with the sender's",
	       got_info.si_pid == getpid() && got_info.si_uid == getuid());

	memset(&got_info, 0, sizeof(got_info));
	syscall(SYS_tgkill, getpid(), tid_self(), SIGUSR1);
	S_TRUE("tgkill gives si_code SI_TKILL",
	       hits == 2 && got_info.si_code == SI_TKILL);

	memset(&got_info, 0, sizeof(got_info));
	val.sival_int = 1234;
	sigqueue(getpid(), SIGUSR1, val);
	S_TRUE("sigqueue gives si_code SI_QUEUE and its si_value",
	       hits == 3 && got_info.si_code == SI_QUEUE &&
		       got_info.si_value.sival_int == 1234);

	memset(&info, 0, sizeof(info));
	info.si_signo = SIGUSR1;
	info.si_code = SI_QUEUE;
	info.si_pid = getpid();
	info.si_uid = getuid();
	info.si_value.sival_int = 77;
	memset(&got_info, 0, sizeof(got_info));
	syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &info);
	S_TRUE("rt_sigqueueinfo delivers the caller's siginfo",
	       hits == 4 && got_info.si_code == SI_QUEUE &&
		       got_info.si_value.sival_int == 77);

	/* Another process: a child waiting for its gate to close. */
	gate = -1;
	pid = -1;
	if (pipe2(g, O_CLOEXEC) == 0) {
		pid = fork();
		if (pid == 0) {
			close(g[1]);
			read_timeout(g[0], &c, 1, 5000);
			_exit(0);
		}
		close(g[0]);
		gate = g[1];
	}
	info.si_code = SI_USER;
	S_CHECK_ERR("rt_sigqueueinfo with si_code SI_USER to another process gives EPERM",
		    pid > 0 ? syscall(SYS_rt_sigqueueinfo, pid, SIGUSR1, &info)
			    : -2,
		    EPERM);
	if (gate >= 0)
		close(gate);
	if (pid > 0) {
		int st;

		reap(pid, &st, 2000);
	}
}

/* ---- SA_RESETHAND, SA_NODEFER, handler mask ------------------------------ */

static volatile int depth, max_depth, total;
static int nodefer_sig;

static void on_nest(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	depth++;
	total++;
	if (depth > max_depth)
		max_depth = depth;
	if (total == 1)
		kill(getpid(), sig);
	depth--;
}

static sigset_t mask_in_handler;

static void on_mask(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	sigprocmask(SIG_BLOCK, NULL, &mask_in_handler);
	hits++;
}

static void flags_scenario(void *arg)
{
	struct sigaction cur;
	sigset_t set, after;

	(void)arg;
	hits = 0;
	install(SIGUSR1, on_info, SA_RESETHAND, NULL);
	kill(getpid(), SIGUSR1);
	S_EQ("an SA_RESETHAND handler runs", hits, 1);
	sigaction(SIGUSR1, NULL, &cur);
	S_TRUE("after one delivery SA_RESETHAND left SIG_DFL",
	       cur.sa_handler == SIG_DFL);

	nodefer_sig = SIGUSR2;
	depth = max_depth = total = 0;
	install(SIGUSR2, on_nest, SA_NODEFER, NULL);
	kill(getpid(), SIGUSR2);
	s_okf(total == 2 && max_depth == 2,
	      "with SA_NODEFER the signal nests inside its own handler",
	      "%d deliveries, depth %d", total, max_depth);
	depth = max_depth = total = 0;
	install(SIGUSR2, on_nest, 0, NULL);
	kill(getpid(), SIGUSR2);
	s_okf(total == 2 && max_depth == 1,
	      "without SA_NODEFER it waits until the handler returns",
	      "%d deliveries, depth %d", total, max_depth);

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	install(SIGUSR1, on_mask, 0, &set);
	hits = 0;
	sigemptyset(&mask_in_handler);
	kill(getpid(), SIGUSR1);
	S_TRUE("the handler runs with sa_mask and its own signal blocked",
	       hits == 1 && sigismember(&mask_in_handler, SIGUSR1) &&
		       sigismember(&mask_in_handler, SIGHUP) &&
		       !sigismember(&mask_in_handler, SIGUSR2));
	sigprocmask(SIG_BLOCK, NULL, &after);
	S_TRUE("the mask is restored when the handler returns",
	       !sigismember(&after, SIGUSR1) && !sigismember(&after, SIGHUP));
}

/* ---- blocking, pending, queueing ---------------------------------------- */

static volatile int order[8], norder;

static void on_order(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (norder < 8)
		order[norder] = sig;
	norder++;
}

static void pending_scenario(void *arg)
{
	union sigval val;
	sigset_t set;

	(void)arg;
	install(SIGUSR1, on_info, 0, NULL);
	hits = 0;
	block(SIGUSR1);
	kill(getpid(), SIGUSR1);
	S_EQ("a blocked signal is not delivered", hits, 0);
	S_TRUE("sigpending shows the blocked signal", is_pending(SIGUSR1));
	unblock(SIGUSR1);
	S_EQ("unblocking delivers it", hits, 1);
	S_TRUE("and it is no longer pending", !is_pending(SIGUSR1));

	hits = 0;
	block(SIGUSR1);
	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGUSR1);
	unblock(SIGUSR1);
	S_EQ("a standard signal sent twice while blocked is delivered once",
	     hits, 1);

	/* Each handler blocks the other signal, so the handlers run in the
	 * order the signals are dequeued (not nested in reverse). */
	norder = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigaddset(&set, SIGRTMIN + 1);
	install(SIGRTMIN, on_order, 0, &set);
	install(SIGRTMIN + 1, on_order, 0, &set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	val.sival_int = 1;
	sigqueue(getpid(), SIGRTMIN, val);
	sigqueue(getpid(), SIGRTMIN, val);
	unblock(SIGRTMIN);
	S_EQ("a real-time signal sent twice while blocked is delivered twice",
	     norder, 2);

	norder = 0;
	block(SIGRTMIN);
	sigqueue(getpid(), SIGRTMIN + 1, val);
	sigqueue(getpid(), SIGRTMIN, val);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	s_okf(norder == 2 && order[0] == SIGRTMIN && order[1] == SIGRTMIN + 1,
	      "the lowest-numbered pending signal is delivered first",
	      "%d deliveries, first SIGRTMIN%+d", norder,
	      norder ? order[0] - SIGRTMIN : 0);
}

/* ---- sigsuspend, sigtimedwait -------------------------------------------- */

static void wait_scenario(void *arg)
{
	struct timespec ts = { 1, 0 };
	sigset_t empty, set, cur;
	siginfo_t info;
	int r;

	(void)arg;
	install(SIGUSR1, on_info, 0, NULL);
	hits = 0;
	block(SIGUSR1);
	kill(getpid(), SIGUSR1);
	sigemptyset(&empty);
	S_CHECK_ERR("sigsuspend returns EINTR after the handler ran",
		    sigsuspend(&empty), EINTR);
	sigprocmask(SIG_BLOCK, NULL, &cur);
	S_TRUE("the handler ran and sigsuspend restored the mask",
	       hits == 1 && sigismember(&cur, SIGUSR1));

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	kill(getpid(), SIGUSR1);
	memset(&info, 0, sizeof(info));
	errno = 0;
	r = sigtimedwait(&set, &info, &ts);
	s_okf(r == SIGUSR1 && info.si_signo == SIGUSR1 &&
		      info.si_code == SI_USER && info.si_pid == getpid(),
	      "rt_sigtimedwait returns a pending blocked signal and its siginfo",
	      "returned %d errno %s, si_code %d", r, tap_errname(errno),
	      info.si_code);
	S_TRUE("the signal it returned is consumed",
	       hits == 1 && !is_pending(SIGUSR1));
	ts.tv_sec = 0;
	ts.tv_nsec = 10 * 1000000;
	S_CHECK_ERR("rt_sigtimedwait times out with EAGAIN",
		    sigtimedwait(&set, &info, &ts), EAGAIN);
	ts.tv_nsec = 2000000000L;
	S_CHECK_ERR("rt_sigtimedwait with a bad timeout gives EINVAL",
		    sigtimedwait(&set, &info, &ts), EINVAL);
}

/* ---- sigaltstack --------------------------------------------------------- */

static char *alt_base;
static size_t alt_size;
static volatile int on_alt, alt_flags_in_handler, alt_change_errno;

static void on_alt_handler(int sig)
{
	volatile char local = 0;
	stack_t cur, ns;

	(void)sig;
	on_alt = (char *)&local >= alt_base &&
		 (char *)&local < alt_base + alt_size;
	alt_flags_in_handler = sigaltstack(NULL, &cur) == 0 ? cur.ss_flags
							     : -1;
	ns.ss_sp = alt_base;
	ns.ss_size = alt_size;
	ns.ss_flags = 0;
	alt_change_errno = sigaltstack(&ns, NULL) == -1 ? errno : 0;
	hits++;
}

static void altstack_scenario(void *arg)
{
	struct sigaction sa;
	stack_t ss, old;

	(void)arg;
	alt_size = 256 * 1024;
	alt_base = malloc(alt_size);
	if (!alt_base)
		return;
	ss.ss_sp = alt_base;
	ss.ss_size = alt_size;
	ss.ss_flags = 0;
	S_CHECK("sigaltstack installs an alternate stack",
		sigaltstack(&ss, NULL), 0, 0);
	memset(&old, 0, sizeof(old));
	sigaltstack(NULL, &old);
	S_TRUE("sigaltstack reads it back, not in use",
	       old.ss_sp == alt_base && old.ss_size == alt_size &&
		       old.ss_flags == 0);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alt_handler;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	hits = 0;
	kill(getpid(), SIGUSR1);
	S_TRUE("an SA_ONSTACK handler runs on the alternate stack",
	       hits == 1 && on_alt);
	S_TRUE("inside it sigaltstack reports SS_ONSTACK",
	       hits == 1 && alt_flags_in_handler == SS_ONSTACK);
	S_EQ("changing the stack while on it gives EPERM", alt_change_errno,
	     EPERM);

	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	sigaltstack(NULL, &old);
	hits = 0;
	on_alt = 1;
	kill(getpid(), SIGUSR1);
	S_TRUE("after SS_DISABLE the handler runs on the normal stack",
	       old.ss_flags == SS_DISABLE && hits == 1 && !on_alt);

	ss.ss_flags = 0;
	ss.ss_size = 1024;
	S_CHECK_ERR("an alternate stack below MINSIGSTKSZ gives ENOMEM",
		    sigaltstack(&ss, NULL), ENOMEM);
	ss.ss_size = alt_size;
	ss.ss_flags = 0x1234;
	S_CHECK_ERR("sigaltstack with bad flags gives EINVAL",
		    sigaltstack(&ss, NULL), EINVAL);
}

/* ---- register and FP state across asynchronous handlers ----------------- */

static volatile int fp_hits;

/* Clobbers every SSE register, the caller-saved general registers and the
 * SSE rounding mode: rt_sigreturn must put them all back. */
static void on_tick(int sig)
{
	unsigned int rz = 0x7f80; /* exceptions masked, round toward zero */
	volatile double x = 3.0;

	(void)sig;
	fp_hits++;
	__asm__ volatile("ldmxcsr %0\n\t"
			 "pcmpeqd %%xmm0, %%xmm0\n\t"
			 "pcmpeqd %%xmm1, %%xmm1\n\t"
			 "pcmpeqd %%xmm2, %%xmm2\n\t"
			 "pcmpeqd %%xmm3, %%xmm3\n\t"
			 "pcmpeqd %%xmm4, %%xmm4\n\t"
			 "pcmpeqd %%xmm5, %%xmm5\n\t"
			 "pcmpeqd %%xmm6, %%xmm6\n\t"
			 "pcmpeqd %%xmm7, %%xmm7\n\t"
			 "pcmpeqd %%xmm8, %%xmm8\n\t"
			 "pcmpeqd %%xmm9, %%xmm9\n\t"
			 "pcmpeqd %%xmm10, %%xmm10\n\t"
			 "pcmpeqd %%xmm11, %%xmm11\n\t"
			 "pcmpeqd %%xmm12, %%xmm12\n\t"
			 "pcmpeqd %%xmm13, %%xmm13\n\t"
			 "pcmpeqd %%xmm14, %%xmm14\n\t"
			 "pcmpeqd %%xmm15, %%xmm15\n\t"
			 "mov $-1, %%rax\n\t"
			 "mov $-1, %%rcx\n\t"
			 "mov $-1, %%rdx\n\t"
			 "mov $-1, %%rsi\n\t"
			 "mov $-1, %%rdi\n\t"
			 "mov $-1, %%r8\n\t"
			 "mov $-1, %%r9\n\t"
			 "mov $-1, %%r10\n\t"
			 "mov $-1, %%r11\n\t"
			 :
			 : "m"(rz)
			 : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
			   "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
			   "xmm12", "xmm13", "xmm14", "xmm15", "rax", "rcx",
			   "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
			   "memory");
	x = x / 7.0;
}

__attribute__((noinline)) static double fp_work(long n, unsigned long *isum)
{
	double a = 1.0, b = 0.5, c = 0.25, d = 0.125;
	unsigned long s = 0x12345678, t = 0x9abcdef;
	long i;

	for (i = 0; i < n; i++) {
		a = a * 1.0000001 + b * 0.999999;
		b = b * 0.9999999 + c * 1e-7;
		c = c + d * 1e-9 - a * 1e-12;
		d = d * 1.0000000001 + 1e-15;
		s = s * 6364136223846793005UL + t;
		t ^= s >> 17;
	}
	*isum = s ^ t;
	return a + b / 3.0 + c / 7.0 + d / 11.0;
}

static void fpstate_scenario(void *arg)
{
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	struct sigaction sa;
	unsigned long iref, isum;
	double ref, got;
	int fp_bad = 0, int_bad = 0, rounds = 0;
	long long start;

	(void)arg;
	ref = fp_work(200000, &iref);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tick;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGVTALRM, &sa, NULL);
	fp_hits = 0;
	setitimer(ITIMER_VIRTUAL, &it, NULL);
	start = now_ns();
	while ((fp_hits < 20 || rounds < 10) && ms_since(start) < 1000) {
		got = fp_work(200000, &isum);
		rounds++;
		if (memcmp(&got, &ref, sizeof(got)) != 0)
			fp_bad++;
		if (isum != iref)
			int_bad++;
	}
	setitimer(ITIMER_VIRTUAL, &off, NULL);
	s_okf(fp_hits >= 5, "timer signals interrupted the computation",
	      "%d signals in %d rounds", fp_hits, rounds);
	s_okf(fp_bad == 0,
	      "FP results are exact: rt_sigreturn restores SSE registers and MXCSR",
	      "%d of %d rounds differ", fp_bad, rounds);
	s_okf(int_bad == 0,
	      "integer results are exact: rt_sigreturn restores general registers",
	      "%d of %d rounds differ", int_bad, rounds);
}

/* ---- default actions ----------------------------------------------------- */

static int raise_term(void *arg)
{
	(void)arg;
	raise(SIGTERM);
	return 1;
}

static int raise_ignored(void *arg)
{
	(void)arg;
	raise(SIGCHLD);
	raise(SIGURG);
	raise(SIGWINCH);
	return 0;
}

static int write_broken_pipe(void *arg)
{
	int p[2];

	if (pipe(p) == -1)
		return 2;
	close(p[0]);
	if (arg)
		signal(SIGPIPE, SIG_IGN);
	if (write(p[1], "x", 1) == -1 && errno == EPIPE)
		return 0;
	return 1;
}

static void default_points(void)
{
	int st;

	st = run_child(raise_term, NULL, 3000);
	okf(st == KILLED(SIGTERM), "SIGTERM's default action kills",
	    "got %s", st == -1 ? tap_errname(errno) : describe_status(st));
	st = run_child(raise_ignored, NULL, 3000);
	okf(st == EXITED(0),
	    "SIGCHLD, SIGURG and SIGWINCH are ignored by default", "got %s",
	    st == -1 ? tap_errname(errno) : describe_status(st));
	st = run_child(write_broken_pipe, NULL, 3000);
	okf(st == KILLED(SIGPIPE),
	    "writing to a pipe without readers kills with SIGPIPE", "got %s",
	    st == -1 ? tap_errname(errno) : describe_status(st));
	st = run_child(write_broken_pipe, "ignore", 3000);
	okf(st == EXITED(0), "with SIGPIPE ignored the write gives EPIPE",
	    "got %s", st == -1 ? tap_errname(errno) : describe_status(st));
}

static void stop_scenario(void *arg)
{
	int to_child[2], from_child[2], st = 0;
	pid_t pid, w;
	char c;

	(void)arg;
	if (pipe2(to_child, O_CLOEXEC) == -1 ||
	    pipe2(from_child, O_CLOEXEC) == -1)
		return;
	pid = fork();
	if (pid == 0) {
		close(to_child[1]);
		close(from_child[0]);
		while (read_timeout(to_child[0], &c, 1, 5000) == 1)
			if (write(from_child[1], &c, 1) != 1)
				break;
		_exit(0);
	}
	close(to_child[0]);
	close(from_child[1]);
	if (pid == -1)
		return;
	kill(pid, SIGSTOP);
	w = wait_for(pid, &st, WUNTRACED, 3000);
	S_TRUE("SIGSTOP's default action stops the child",
	       w == pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
	c = 'x';
	if (write(to_child[1], &c, 1) != 1)
		c = 0;
	S_EQ("a stopped child does not run (no answer in 100 ms)",
	     read_timeout(from_child[0], &c, 1, 100), 0);
	kill(pid, SIGCONT);
	S_EQ("SIGCONT resumes it: it answers",
	     read_timeout(from_child[0], &c, 1, 2000), 1);
	close(to_child[1]);
	reap(pid, &st, 2000);
}

/* ---- synchronous faults -------------------------------------------------- */

static sigjmp_buf fault_jb;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	got_info = *si;
	hits++;
	siglongjmp(fault_jb, 1);
}

__attribute__((noinline)) static void do_ud2(void)
{
	__asm__ volatile(".globl ward_ud2_insn\n"
			 "ward_ud2_insn: ud2");
}
extern char ward_ud2_insn[];

static volatile int after_int3;

static void on_trap(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	got_info = *si;
	hits++;
}

static void fault_scenario(void *arg)
{
	long page = sysconf(_SC_PAGESIZE);
	volatile int *p;
	volatile int sink;
	int zero = 0;
	char *ro, *map;
	struct stat st;
	size_t end;
	sigset_t cur;
	int fd;

	(void)arg;
	memset(&st, 0, sizeof(st));
	install(SIGSEGV, on_fault, 0, NULL);
	install(SIGFPE, on_fault, 0, NULL);
	install(SIGILL, on_fault, 0, NULL);
	install(SIGBUS, on_fault, 0, NULL);
	install(SIGTRAP, on_trap, 0, NULL);

	hits = 0;
	memset(&got_info, 0, sizeof(got_info));
	p = NULL;
	__asm__ volatile("" : "+r"(p));
	if (sigsetjmp(fault_jb, 1) == 0)
		*p = 1;
	S_TRUE("a NULL write raises SIGSEGV with SEGV_MAPERR",
	       hits == 1 && got_info.si_signo == SIGSEGV &&
		       got_info.si_code == SEGV_MAPERR);
	S_TRUE("si_addr is the faulting address (NULL)",
	       hits == 1 && got_info.si_addr == NULL);
	sigprocmask(SIG_BLOCK, NULL, &cur);
	S_TRUE("siglongjmp out of the handler unblocked SIGSEGV again",
	       !sigismember(&cur, SIGSEGV));

	ro = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	hits = 0;
	memset(&got_info, 0, sizeof(got_info));
	if (ro != MAP_FAILED && sigsetjmp(fault_jb, 1) == 0)
		*(volatile int *)(ro + 16) = 1;
	S_TRUE("a write to a PROT_READ page raises SIGSEGV with SEGV_ACCERR",
	       hits == 1 && got_info.si_signo == SIGSEGV &&
		       got_info.si_code == SEGV_ACCERR);
	S_TRUE("its si_addr is the written address",
	       hits == 1 && (char *)got_info.si_addr == ro + 16);

	hits = 0;
	memset(&got_info, 0, sizeof(got_info));
	__asm__ volatile("" : "+r"(zero));
	if (sigsetjmp(fault_jb, 1) == 0)
		sink = 100 / zero;
	(void)sink;
	S_TRUE("an integer divide by zero raises SIGFPE with FPE_INTDIV",
	       hits == 1 && got_info.si_signo == SIGFPE &&
		       got_info.si_code == FPE_INTDIV);

	hits = 0;
	memset(&got_info, 0, sizeof(got_info));
	if (sigsetjmp(fault_jb, 1) == 0)
		do_ud2();
	S_TRUE("ud2 raises SIGILL with ILL_ILLOPN",
	       hits == 1 && got_info.si_signo == SIGILL &&
		       got_info.si_code == ILL_ILLOPN);
	S_TRUE("SIGILL's si_addr is the ud2 instruction",
	       hits == 1 && got_info.si_addr == (void *)ward_ud2_insn);

	hits = 0;
	after_int3 = 0;
	memset(&got_info, 0, sizeof(got_info));
	__asm__ volatile("int3" ::: "memory");
	after_int3 = 1;
	S_TRUE("int3 raises SIGTRAP and execution resumes after it",
	       hits == 1 && got_info.si_signo == SIGTRAP && after_int3);

	hits = 0;
	memset(&got_info, 0, sizeof(got_info));
	fd = open(self, O_RDONLY | O_CLOEXEC);
	map = MAP_FAILED;
	end = 0;
	if (fd >= 0 && fstat(fd, &st) == 0) {
		end = ((size_t)st.st_size + page - 1) & ~(size_t)(page - 1);
		map = mmap(NULL, end + page, PROT_READ, MAP_PRIVATE, fd, 0);
	}
	S_TRUE("the file's last page reads as zeros past its end",
	       map != MAP_FAILED &&
		       (end == (size_t)st.st_size ||
			(map[st.st_size] == 0 && map[end - 1] == 0)));
	if (map != MAP_FAILED && sigsetjmp(fault_jb, 1) == 0)
		sink = *(volatile char *)(map + end);
	S_TRUE("reading a file mapping a page past its end raises SIGBUS with BUS_ADRERR",
	       hits == 1 && got_info.si_signo == SIGBUS &&
		       got_info.si_code == BUS_ADRERR);
	S_TRUE("SIGBUS's si_addr is the address read",
	       hits == 1 && (char *)got_info.si_addr == map + end);
	if (fd >= 0)
		close(fd);
}

/* ---- SIGCHLD ------------------------------------------------------------- */

static void sigchld_scenario(void *arg)
{
	struct timespec ts = { 2, 0 };
	struct sigaction sa;
	siginfo_t info;
	long long start;
	sigset_t set;
	pid_t pid;
	int r, st, e;

	(void)arg;
	block(SIGCHLD);
	pid = fork();
	if (pid == 0)
		_exit(3);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	memset(&info, 0, sizeof(info));
	r = pid > 0 ? sigtimedwait(&set, &info, &ts) : -1;
	S_EQ("the parent gets SIGCHLD when a child exits", r, SIGCHLD);
	S_TRUE("its siginfo is CLD_EXITED with the child's pid and status",
	       info.si_code == CLD_EXITED && info.si_pid == pid &&
		       info.si_status == 3);
	reap(pid, &st, 2000);

	install(SIGCHLD, on_info, 0, NULL);
	hits = 0;
	unblock(SIGCHLD);
	pid = fork();
	if (pid == 0)
		_exit(4);
	start = now_ns();
	while (pid > 0 && hits == 0 && ms_since(start) < 2000)
		sleep_us(500);
	S_TRUE("a SIGCHLD handler runs when a child exits",
	       hits == 1 && got_info.si_pid == pid);
	reap(pid, &st, 2000);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGCHLD, &sa, NULL);
	pid = fork();
	if (pid == 0)
		_exit(5);
	start = now_ns();
	r = -2;
	while (pid > 0 && (r = waitpid(pid, &st, WNOHANG)) == 0 &&
	       ms_since(start) < 2000)
		sleep_us(500);
	e = errno;
	s_okf(r == -1 && e == ECHILD,
	      "with SIGCHLD ignored an exited child is reaped at once (ECHILD)",
	      "waitpid returned %d errno %s", r, tap_errname(r == -1 ? e : 0));
}

/* ---- EINTR and SA_RESTART ------------------------------------------------ */

static int restart_pipe[2];

static void on_alarm_write(int sig)
{
	(void)sig;
	hits++;
	if (write(restart_pipe[1], "r", 1) != 1)
		hits += 100;
}

static void arm_ms(long ms)
{
	struct itimerval it = { { 0, 0 }, { 0, ms * 1000 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static void eintr_scenario(void *arg)
{
	struct timespec req = { 2, 0 }, rem = { 0, 0 };
	struct sigaction sa;
	char c[4];
	long r;
	int e;

	(void)arg;
	if (pipe2(restart_pipe, O_CLOEXEC) == -1)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm_write;
	sigaction(SIGALRM, &sa, NULL);
	hits = 0;
	arm_ms(50);
	S_CHECK_ERR("a read on an empty pipe interrupted by a handler without SA_RESTART gives EINTR",
		    read(restart_pipe[0], c, sizeof(c)), EINTR);
	/* Empty the byte the handler wrote. */
	if (read(restart_pipe[0], c, 1) != 1)
		hits += 100;

	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	hits = 0;
	arm_ms(50);
	S_CHECK("with SA_RESTART the read resumes and gets the handler's byte",
		read(restart_pipe[0], c, sizeof(c)), 1, 0);

	sa.sa_flags = SA_RESTART; /* nanosleep is never restarted */
	sigaction(SIGALRM, &sa, NULL);
	arm_ms(50);
	errno = 0;
	r = nanosleep(&req, &rem);
	e = errno;
	S_TRUE("nanosleep interrupted by a handler gives EINTR",
	       r == -1 && e == EINTR);
	s_okf(rem.tv_sec == 1 && rem.tv_nsec > 0,
	      "it stores the remaining time (between 1 s and 2 s)",
	      "remaining %ld.%09ld s", (long)rem.tv_sec, rem.tv_nsec);
}

/* ---- errors -------------------------------------------------------------- */

static void error_points(void)
{
	CHECK_ERR("kill of a nonexistent pid gives ESRCH",
		  kill(0x3ffffff0, 0), ESRCH);
	CHECK_ERR("kill with a bad signal number gives EINVAL",
		  kill(getpid(), 65), EINVAL);
	CHECK("kill(0, 0) to our own process group succeeds", kill(0, 0), 0, 0);
	CHECK("kill(getpid(), 0) succeeds", kill(getpid(), 0), 0, 0);
	CHECK_ERR("tgkill of a nonexistent thread gives ESRCH",
		  syscall(SYS_tgkill, getpid(), 0x3ffffff0, 0), ESRCH);
	CHECK_ERR("tgkill with tgid 0 gives EINVAL",
		  syscall(SYS_tgkill, 0, tid_self(), 0), EINVAL);
	CHECK_ERR("sigqueue to a nonexistent pid gives ESRCH",
		  sigqueue(0x3ffffff0, 0, (union sigval){ .sival_int = 0 }),
		  ESRCH);
}

int main(int argc, char **argv)
{
	(void)argc;
	self = argv[0];
	plan(71);

	scenario("siginfo", 7, siginfo_scenario, NULL);
	scenario("flags", 6, flags_scenario, NULL);
	scenario("pending", 7, pending_scenario, NULL);
	scenario("waiting", 6, wait_scenario, NULL);
	scenario("sigaltstack", 8, altstack_scenario, NULL);
	scenario("fpstate", 3, fpstate_scenario, NULL);
	default_points(); /* 4 */
	scenario("stop", 3, stop_scenario, NULL);
	scenario("faults", 12, fault_scenario, NULL);
	scenario("sigchld", 4, sigchld_scenario, NULL);
	scenario("eintr", 4, eintr_scenario, NULL);
	error_points(); /* 7 */
	return done();
}
