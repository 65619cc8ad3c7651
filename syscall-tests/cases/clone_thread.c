/* Threads: clone(2) as pthread_create uses it (CLONE_VM|CLONE_FS|
 * CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|
 * CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID), thread identity, TLS, shared
 * files, per-thread signals, thread and group exit; a raw clone checking
 * CLONE_PARENT_SETTID/CLONE_CHILD_CLEARTID; clone3(2) and clone(2) flag
 * errors. Everything that could hang runs in a child under a deadline. */
#include "tap.h"
#include "proc.h"

#include <linux/futex.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>

#define NTHREADS 8
#define NINCR 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static __thread long tls_value;

struct worker {
	int index;
	pid_t tid;
	pid_t pid;
	int tls_ok;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int i;

	tls_value = 1000 + w->index;
	w->tid = tid_self();
	w->pid = getpid();
	for (i = 0; i < NINCR; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
		if (i % 5000 == 0)
			sched_yield();
	}
	w->tls_ok = tls_value == 1000 + w->index;
	return NULL;
}

static void workers_scenario(void *arg)
{
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	int i, j, created = 0, joined = 0, distinct = 1, same_pid = 1, tls = 1;

	(void)arg;
	memset(w, 0, sizeof(w));
	tls_value = 7;
	for (i = 0; i < NTHREADS; i++) {
		w[i].index = i;
		if (pthread_create(&th[i], NULL, worker_main, &w[i]) != 0)
			break;
		created++;
	}
	S_EQ("pthread_create starts 8 threads", created, NTHREADS);
	for (i = 0; i < created; i++)
		joined += pthread_join(th[i], NULL) == 0;
	S_EQ("pthread_join joins all 8", joined, NTHREADS);
	S_EQ("8 threads incrementing under a mutex reach the total", counter,
	     (long)NTHREADS * NINCR);
	for (i = 0; i < created; i++) {
		if (w[i].tid <= 0 || w[i].tid == tid_self())
			distinct = 0;
		for (j = 0; j < i; j++)
			if (w[i].tid == w[j].tid)
				distinct = 0;
		if (w[i].pid != getpid())
			same_pid = 0;
		if (!w[i].tls_ok)
			tls = 0;
	}
	S_TRUE("every thread has its own gettid, unlike the main thread's",
	       created == NTHREADS && distinct);
	S_TRUE("every thread's getpid is the process's pid",
	       created == NTHREADS && same_pid);
	S_TRUE("the main thread's gettid equals getpid", tid_self() == getpid());
	S_TRUE("each thread sees its own TLS value (CLONE_SETTLS)",
	       created == NTHREADS && tls);
	S_EQ("the main thread's TLS value is untouched", tls_value, 7);
}

static void *exiting_main(void *arg)
{
	(void)arg;
	pthread_exit((void *)42L);
}

static void *open_main(void *arg)
{
	*(int *)arg = open("/dev/null", O_RDONLY);
	return NULL;
}

static volatile pid_t handler_tid;
static volatile int target_ready, target_release;
static volatile sig_atomic_t usr2_blocked_in_thread;

static void record_tid(int sig)
{
	(void)sig;
	handler_tid = tid_self();
}

static void *target_main(void *arg)
{
	sigset_t set;
	long long start = now_ns();

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	usr2_blocked_in_thread = 1;
	*(pid_t *)arg = tid_self();
	target_ready = 1;
	while (!target_release && ms_since(start) < 2000)
		sleep_us(500);
	return NULL;
}

static void thread_misc_scenario(void *arg)
{
	struct sigaction sa;
	sigset_t cur;
	pthread_t th;
	void *ret = NULL;
	long long start;
	pid_t target = 0;
	int fd = -1, r;

	(void)arg;
	r = pthread_create(&th, NULL, exiting_main, NULL);
	if (r == 0)
		r = pthread_join(th, &ret);
	S_TRUE("pthread_exit ends only the thread: join gets its value and the process runs on",
	       r == 0 && ret == (void *)42L);

	r = pthread_create(&th, NULL, open_main, &fd);
	if (r == 0)
		pthread_join(th, NULL);
	s_okf(fd >= 0 && fcntl(fd, F_GETFD) != -1,
	      "a file a thread opened is open in the main thread (CLONE_FILES)",
	      "fd %d", fd);
	if (fd >= 0)
		close(fd);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = record_tid;
	sigaction(SIGUSR1, &sa, NULL);
	handler_tid = 0;
	r = pthread_create(&th, NULL, target_main, &target);
	start = now_ns();
	while (r == 0 && !target_ready && ms_since(start) < 2000)
		sleep_us(200);
	S_CHECK("tgkill to a thread succeeds",
		target_ready ? syscall(SYS_tgkill, getpid(), target, SIGUSR1)
			     : -2,
		0, 0);
	start = now_ns();
	while (target_ready && handler_tid == 0 && ms_since(start) < 2000)
		sleep_us(200);
	S_TRUE("the tgkill handler runs on the target thread",
	       target_ready && handler_tid == target);
	sigprocmask(SIG_BLOCK, NULL, &cur);
	S_TRUE("signal masks are per thread: a thread's block leaves ours alone",
	       usr2_blocked_in_thread && !sigismember(&cur, SIGUSR2));
	target_release = 1;
	if (r == 0)
		pthread_join(th, NULL);
}

/* ---- exits ------------------------------------------------------------- */

static void *group_exit_main(void *arg)
{
	(void)arg;
	sleep_ms(20);
	syscall(SYS_exit_group, 7);
	return NULL;
}

static int group_exit_child(void *arg)
{
	pthread_t th;

	(void)arg;
	if (pthread_create(&th, NULL, group_exit_main, NULL) != 0)
		return 1;
	sleep_ms(5000);
	return 2;
}

static int leader_pipe[2];

static void *survivor_main(void *arg)
{
	(void)arg;
	sleep_ms(50);
	if (write(leader_pipe[1], "x", 1) != 1)
		syscall(SYS_exit_group, 9);
	syscall(SYS_exit, 5);
	return NULL;
}

static void exit_scenario(void *arg)
{
	pthread_t th;
	char c = 0;
	pid_t pid;
	int st;

	(void)arg;
	st = run_child(group_exit_child, NULL, 3000);
	S_STATUS("exit_group from a thread ends the whole process (status 7)",
		 st, EXITED(7));

	if (pipe2(leader_pipe, O_CLOEXEC) == -1) {
		S_OK(0, "pipe2 for the leader test");
		S_OK(0, "pipe2 for the leader test");
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(leader_pipe[0]);
		if (pthread_create(&th, NULL, survivor_main, NULL) != 0)
			_exit(1);
		syscall(SYS_exit, 3);
	}
	close(leader_pipe[1]);
	S_EQ("after the main thread's exit(2), another thread still runs",
	     read_timeout(leader_pipe[0], &c, 1, 3000) == 1 && c == 'x', 1);
	close(leader_pipe[0]);
	st = 0;
	if (pid <= 0 || reap(pid, &st, 3000) != 1)
		st = -1;
	/* Older kernels report the leader's code (3), newer ones the last
	 * thread's (5): either way the process ended by exiting. */
	s_okf(st == EXITED(3) || st == EXITED(5),
	      "the process ends when its last thread exits (status 3 or 5)",
	      "got %s", st == -1 ? "no status" : describe_status(st));
}

/* ---- raw clone: CLONE_PARENT_SETTID and CLONE_CHILD_CLEARTID ------------- */

static volatile int raw_ran;
static volatile int raw_tid_word;

static int raw_thread(void *arg)
{
	struct timespec ts = { 0, 100 * 1000000 };

	(void)arg;
	/* No TLS of its own: only raw system calls here. */
	raw_ran = 1;
	syscall(SYS_nanosleep, &ts, NULL);
	return 0;
}

static void raw_clone_scenario(void *arg)
{
	const int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
			  CLONE_THREAD | CLONE_SYSVSEM | CLONE_PARENT_SETTID |
			  CLONE_CHILD_CLEARTID;
	struct timespec two = { 2, 0 };
	size_t size = 256 * 1024;
	char *stack = malloc(size);
	long long start;
	int tid, word, e;
	long r;

	(void)arg;
	raw_tid_word = -1;
	tid = stack ? clone(raw_thread, stack + size, flags, NULL,
			    &raw_tid_word, NULL, &raw_tid_word)
		    : -1;
	word = raw_tid_word;
	S_TRUE("clone(CLONE_THREAD|...) returns a new tid", tid > 0 &&
	       tid != tid_self());
	S_TRUE("CLONE_PARENT_SETTID stores the new tid", tid > 0 && word == tid);
	/* The thread sleeps 100 ms before it exits: we should be waiting. */
	errno = 0;
	r = tid > 0 && word == tid
		    ? syscall(SYS_futex, &raw_tid_word, FUTEX_WAIT, tid, &two,
			      NULL, 0)
		    : -2;
	e = errno;
	s_okf(r == 0 || (r == -1 && e == EAGAIN),
	      "CLONE_CHILD_CLEARTID wakes a FUTEX_WAIT on the tid word at exit",
	      "FUTEX_WAIT returned %ld errno %s", r, tap_errname(e));
	start = now_ns();
	while (raw_tid_word != 0 && ms_since(start) < 2000)
		sleep_us(500);
	S_EQ("CLONE_CHILD_CLEARTID zeroes the tid word", raw_tid_word, 0);
	S_TRUE("the thread ran in our memory (CLONE_VM)", raw_ran == 1);
}

/* ---- flag errors ------------------------------------------------------- */

/* A clone call that should fail: if it wrongly succeeds, the child ends at
 * once (only its own thread) and the parent reaps it. */
static long bad_clone(unsigned long flags)
{
	long r = syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
	int e = errno, st;

	if (r == 0)
		syscall(SYS_exit, 0);
	if (r > 0)
		reap((pid_t)r, &st, 1000);
	errno = e;
	return r;
}

static long bad_clone3(struct clone_args *args, size_t size)
{
	long r = syscall(SYS_clone3, args, size);
	int e = errno, st;

	if (r == 0)
		syscall(SYS_exit, 0);
	if (r > 0)
		reap((pid_t)r, &st, 1000);
	errno = e;
	return r;
}

static void flag_errors(void)
{
	struct clone_args args;
	static char big[8192];
	long r;
	int st;

	memset(&args, 0, sizeof(args));
	args.exit_signal = SIGCHLD;
	CHECK_ERR("clone3 with a size below the first version gives EINVAL",
		  bad_clone3(&args, 8), EINVAL);
	memcpy(big, &args, sizeof(args));
	CHECK_ERR("clone3 with a size over a page gives E2BIG",
		  bad_clone3((struct clone_args *)big, sizeof(big)), E2BIG);
	args.flags = CLONE_THREAD;
	CHECK_ERR("clone3 with CLONE_THREAD but no CLONE_SIGHAND gives EINVAL",
		  bad_clone3(&args, sizeof(args)), EINVAL);
	CHECK_ERR("clone with CLONE_THREAD but no CLONE_SIGHAND gives EINVAL",
		  bad_clone(CLONE_THREAD), EINVAL);
	CHECK_ERR("clone with CLONE_SIGHAND but no CLONE_VM gives EINVAL",
		  bad_clone(CLONE_SIGHAND | SIGCHLD), EINVAL);

	memset(&args, 0, sizeof(args));
	args.exit_signal = SIGCHLD;
	fflush(stdout);
	r = syscall(SYS_clone3, &args, 64);
	if (r == 0)
		_exit(8);
	st = 0;
	okf(r > 0 && reap((pid_t)r, &st, 3000) == 1 && st == EXITED(8),
	    "clone3 with the first version's size and no flags acts as fork",
	    "clone3 returned %ld (%s), child %s", r,
	    tap_errname(r == -1 ? errno : 0), describe_status(st));
}

int main(void)
{
	int st;

	plan(27);

	scenario("workers", 8, workers_scenario, NULL);
	scenario("thread misc", 5, thread_misc_scenario, NULL);
	scenario("exits", 3, exit_scenario, NULL);
	scenario("raw clone", 5, raw_clone_scenario, NULL);
	flag_errors(); /* 6 */
	while (waitpid(-1, &st, WNOHANG | __WALL) > 0)
		;
	return done();
}
