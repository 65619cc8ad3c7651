/* futex(2): FUTEX_WAIT (value mismatch, relative timeout), FUTEX_WAKE
 * between threads, FUTEX_WAIT_BITSET with absolute timeouts,
 * FUTEX_WAKE_BITSET, FUTEX_REQUEUE and FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP,
 * private versus shared futexes across processes, robust mutexes whose
 * owner died (EOWNERDEAD), and the error paths. Every wait has a timeout;
 * waits on other threads or processes run in a child under a deadline. */
#include "tap.h"
#include "proc.h"

#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/mman.h>

static long futex(volatile int *uaddr, int op, int val,
		  const struct timespec *ts, volatile int *uaddr2, int val3)
{
	return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

/* The four-argument form (FUTEX_REQUEUE, FUTEX_WAKE_OP): val2 travels in
 * the timeout slot. */
static long futex2(volatile int *uaddr, int op, int val, long val2,
		   volatile int *uaddr2, int val3)
{
	return syscall(SYS_futex, uaddr, op, val, val2, uaddr2, val3);
}

static long long mono_ns(void)
{
	return now_ns();
}

static struct timespec ns_to_ts(long long ns)
{
	struct timespec ts = { ns / 1000000000LL, ns % 1000000000LL };

	return ts;
}

/* ---- single-thread points ------------------------------------------------ */

static void solo_points(void)
{
	static int word = 5, word2 = 0;
	struct timespec ts = { 1, 0 }, abs;
	struct timespec realnow;
	long long start, deadline;
	long r;

	CHECK_ERR("FUTEX_WAIT with a mismatched value gives EAGAIN",
		  futex(&word, FUTEX_WAIT, 6, &ts, NULL, 0), EAGAIN);
	CHECK_ERR("FUTEX_WAIT_PRIVATE with a mismatched value gives EAGAIN",
		  futex(&word, FUTEX_WAIT_PRIVATE, 6, &ts, NULL, 0), EAGAIN);
	ts.tv_sec = 0;
	ts.tv_nsec = 20 * 1000000;
	start = mono_ns();
	CHECK_ERR("FUTEX_WAIT with a 20 ms relative timeout gives ETIMEDOUT",
		  futex(&word, FUTEX_WAIT_PRIVATE, 5, &ts, NULL, 0), ETIMEDOUT);
	CHECK_TRUE("it waited at least 20 ms", ms_since(start) >= 20);

	deadline = mono_ns() + 20 * 1000000LL;
	abs = ns_to_ts(deadline);
	CHECK_ERR("FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline gives ETIMEDOUT",
		  futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 5, &abs, NULL,
			FUTEX_BITSET_MATCH_ANY),
		  ETIMEDOUT);
	CHECK_TRUE("it returned no earlier than the deadline",
		   mono_ns() >= deadline);
	clock_gettime(CLOCK_REALTIME, &realnow);
	abs = ns_to_ts((long long)realnow.tv_sec * 1000000000LL +
		       realnow.tv_nsec + 20 * 1000000LL);
	CHECK_ERR("FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME times out on CLOCK_REALTIME",
		  futex(&word,
			FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 5,
			&abs, NULL, FUTEX_BITSET_MATCH_ANY),
		  ETIMEDOUT);
	CHECK_ERR("FUTEX_WAIT_BITSET with a zero bitset gives EINVAL",
		  futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 5, &abs, NULL, 0),
		  EINVAL);
	CHECK("FUTEX_WAKE with no waiters returns 0",
	      futex(&word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0), 0, 0);

	ts.tv_sec = 0;
	ts.tv_nsec = 1000000000L;
	CHECK_ERR("FUTEX_WAIT with tv_nsec of a billion gives EINVAL",
		  futex(&word, FUTEX_WAIT_PRIVATE, 5, &ts, NULL, 0), EINVAL);
	ts.tv_nsec = 1000;
	CHECK_ERR("FUTEX_WAIT on a misaligned address gives EINVAL",
		  futex((volatile int *)((char *)&word + 1), FUTEX_WAIT_PRIVATE,
			0, &ts, NULL, 0),
		  EINVAL);
	CHECK_ERR("FUTEX_WAIT on an unmapped address gives EFAULT",
		  futex((volatile int *)4096, FUTEX_WAIT_PRIVATE, 0, &ts, NULL,
			0),
		  EFAULT);
	CHECK_ERR("an unknown futex operation gives ENOSYS",
		  futex(&word, 99, 0, NULL, NULL, 0), ENOSYS);
	CHECK_ERR("FUTEX_CMP_REQUEUE with a mismatched value gives EAGAIN",
		  futex2(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, INT_MAX, &word2,
			 6),
		  EAGAIN);

	word2 = 0;
	r = futex2(&word, FUTEX_WAKE_OP_PRIVATE, 1, 1, &word2,
		   FUTEX_OP(FUTEX_OP_ADD, 5, FUTEX_OP_CMP_EQ, 0));
	CHECK_TRUE("FUTEX_WAKE_OP without waiters returns 0 and applies its operation",
		   r == 0 && word2 == 5);
	CHECK_ERR("FUTEX_WAKE_OP with an unknown operation gives ENOSYS",
		  futex2(&word, FUTEX_WAKE_OP_PRIVATE, 1, 1, &word2,
			 FUTEX_OP(7, 5, FUTEX_OP_CMP_EQ, 0)),
		  ENOSYS);
}

/* ---- waiter threads ------------------------------------------------------- */

struct waiter {
	volatile int *addr;
	int op;
	int val;
	int bitset;
	volatile int ready;
	long ret;
	int err;
	pthread_t th;
	int started;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	struct timespec ts = { 3, 0 };

	if ((w->op & FUTEX_CMD_MASK) == FUTEX_WAIT_BITSET)
		ts = ns_to_ts(mono_ns() + 3000000000LL);
	w->ready = 1;
	errno = 0;
	w->ret = futex(w->addr, w->op, w->val, &ts, NULL, w->bitset);
	w->err = errno;
	return NULL;
}

static void start_waiter(struct waiter *w, volatile int *addr, int op,
			 int bitset)
{
	memset(w, 0, sizeof(*w));
	w->addr = addr;
	w->op = op;
	w->val = *addr;
	w->bitset = bitset;
	w->ret = -2;
	w->started = pthread_create(&w->th, NULL, waiter_main, w) == 0;
}

/* Waits until the waiter thread is about to wait, then gives it 20 ms to
 * enter the kernel. */
static void settle(struct waiter *w)
{
	long long start = now_ns();

	while (w->started && !w->ready && ms_since(start) < 2000)
		sleep_us(200);
	sleep_ms(20);
}

static void join_waiter(struct waiter *w)
{
	if (w->started)
		pthread_join(w->th, NULL);
	w->started = 0;
}

/* Repeats a wake until it has woken want waiters in total (or 2 s). */
static long wake_until(volatile int *addr, int op, int want, int bitset)
{
	long long start = now_ns();
	long total = 0, r;

	while (total < want && ms_since(start) < 2000) {
		r = futex(addr, op, want - (int)total, NULL, NULL, bitset);
		if (r < 0)
			return r;
		total += r;
		if (total < want)
			sleep_us(500);
	}
	return total;
}

static int woke(const struct waiter *w)
{
	return w->ret == 0;
}

static void wake_scenario(void *arg)
{
	static int word, pword;
	struct waiter w;

	(void)arg;
	start_waiter(&w, &word, FUTEX_WAIT, 0);
	S_EQ("FUTEX_WAKE wakes the waiting thread (returns 1)",
	     wake_until(&word, FUTEX_WAKE, 1, 0), 1);
	join_waiter(&w);
	s_okf(woke(&w), "the woken FUTEX_WAIT returns 0",
	      "returned %ld errno %s", w.ret, tap_errname(w.err));

	start_waiter(&w, &pword, FUTEX_WAIT_PRIVATE, 0);
	S_EQ("FUTEX_WAKE_PRIVATE wakes a FUTEX_WAIT_PRIVATE waiter",
	     wake_until(&pword, FUTEX_WAKE_PRIVATE, 1, 0), 1);
	join_waiter(&w);
}

static void bitset_scenario(void *arg)
{
	static int word;
	struct waiter w;

	(void)arg;
	start_waiter(&w, &word, FUTEX_WAIT_BITSET_PRIVATE, 0x1);
	settle(&w);
	S_CHECK("FUTEX_WAKE_BITSET with a non-matching bitset wakes nobody",
		futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0x2), 0,
		0);
	S_EQ("FUTEX_WAKE_BITSET with a matching bitset wakes the waiter",
	     wake_until(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, 0x3), 1);
	join_waiter(&w);
	s_okf(woke(&w), "the FUTEX_WAIT_BITSET waiter returns 0",
	      "returned %ld errno %s", w.ret, tap_errname(w.err));
}

/* Moves waiters from a to b until want have moved (or 2 s). */
static long requeue_until(volatile int *a, volatile int *b, int op, int want)
{
	long long start = now_ns();
	long total = 0, r;

	while (total < want && ms_since(start) < 2000) {
		if ((op & FUTEX_CMD_MASK) == FUTEX_CMP_REQUEUE)
			r = futex2(a, op, 0, INT_MAX, b, *a);
		else
			r = futex2(a, op, 0, INT_MAX, b, 0);
		if (r < 0)
			return r;
		total += r;
		if (total < want)
			sleep_us(500);
	}
	return total;
}

static void requeue_scenario(void *arg)
{
	static int f1, f2;
	struct waiter w[2];

	(void)arg;
	start_waiter(&w[0], &f1, FUTEX_WAIT_PRIVATE, 0);
	start_waiter(&w[1], &f1, FUTEX_WAIT_PRIVATE, 0);
	S_EQ("FUTEX_CMP_REQUEUE moves both waiters to the second futex",
	     requeue_until(&f1, &f2, FUTEX_CMP_REQUEUE_PRIVATE, 2), 2);
	S_CHECK("no waiter is left on the first futex",
		futex(&f1, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0), 0, 0);
	S_CHECK("a wake on the second futex wakes both",
		futex(&f2, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0), 2, 0);
	join_waiter(&w[0]);
	join_waiter(&w[1]);
	S_TRUE("both requeued waiters return 0", woke(&w[0]) && woke(&w[1]));

	start_waiter(&w[0], &f1, FUTEX_WAIT_PRIVATE, 0);
	start_waiter(&w[1], &f1, FUTEX_WAIT_PRIVATE, 0);
	S_EQ("FUTEX_REQUEUE moves both waiters too",
	     requeue_until(&f1, &f2, FUTEX_REQUEUE_PRIVATE, 2), 2);
	S_EQ("and a wake on the second futex wakes them",
	     wake_until(&f2, FUTEX_WAKE_PRIVATE, 2, 0), 2);
	join_waiter(&w[0]);
	join_waiter(&w[1]);
}

static void wake_op_scenario(void *arg)
{
	static int f1, f2;
	struct waiter a, b;
	long long start;
	long total = 0, r;

	(void)arg;
	start_waiter(&a, &f1, FUTEX_WAIT_PRIVATE, 0);
	start_waiter(&b, &f2, FUTEX_WAIT_PRIVATE, 0);
	start = now_ns();
	/* f2 = 0 (unchanged); the old value 0 == 0, so f2's waiter is woken. */
	while (total < 2 && ms_since(start) < 2000) {
		r = futex2(&f1, FUTEX_WAKE_OP_PRIVATE, 1, 1, &f2,
			   FUTEX_OP(FUTEX_OP_SET, 0, FUTEX_OP_CMP_EQ, 0));
		if (r < 0)
			break;
		total += r;
		if (total < 2)
			sleep_us(500);
	}
	S_EQ("FUTEX_WAKE_OP wakes a waiter on each futex when the comparison holds",
	     total, 2);
	join_waiter(&a);
	join_waiter(&b);
	S_TRUE("both waiters return 0", woke(&a) && woke(&b));

	start_waiter(&b, &f2, FUTEX_WAIT_PRIVATE, 0);
	settle(&b);
	S_CHECK("when the comparison fails the second futex's waiter is not woken",
		futex2(&f1, FUTEX_WAKE_OP_PRIVATE, 1, 1, &f2,
		       FUTEX_OP(FUTEX_OP_SET, 0, FUTEX_OP_CMP_NE, 0)),
		0, 0);
	wake_until(&f2, FUTEX_WAKE_PRIVATE, 1, 0);
	join_waiter(&b);
}

/* ---- shared futex across processes ------------------------------------- */

static void shared_scenario(void *arg)
{
	volatile int *shm;
	struct timespec ts = { 3, 0 };
	long long start;
	pid_t pid;
	int st = 0;

	(void)arg;
	shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		return;
	shm[0] = 0; /* the futex */
	shm[1] = 0; /* the child is about to wait */
	pid = fork();
	if (pid == 0) {
		shm[1] = 1;
		_exit(futex(&shm[0], FUTEX_WAIT, 0, &ts, NULL, 0) == 0 ? 0 : 1);
	}
	start = now_ns();
	while (pid > 0 && !shm[1] && ms_since(start) < 2000)
		sleep_us(200);
	sleep_ms(20);
	S_CHECK("a private wake in another process does not wake a shared waiter",
		futex(&shm[0], FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), 0, 0);
	S_EQ("a shared FUTEX_WAKE on a MAP_SHARED word wakes the other process",
	     pid > 0 ? wake_until(&shm[0], FUTEX_WAKE, 1, 0) : -1, 1);
	if (pid <= 0 || reap(pid, &st, 3000) != 1)
		st = -1;
	S_STATUS("the child's FUTEX_WAIT returned 0", st, EXITED(0));
}

/* ---- robust mutexes ------------------------------------------------------ */

static pthread_mutex_t robust;

static void *lock_and_die(void *arg)
{
	pthread_mutex_lock(arg);
	return NULL;
}

static int timed_lock(pthread_mutex_t *m)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 1;
	return pthread_mutex_timedlock(m, &ts);
}

static void robust_scenario(void *arg)
{
	pthread_mutexattr_t attr;
	pthread_mutex_t *shared;
	pthread_t th;
	int r, word, st;
	pid_t pid;

	(void)arg;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&robust, &attr);
	r = pthread_create(&th, NULL, lock_and_die, &robust);
	if (r == 0)
		pthread_join(th, NULL);
	word = robust.__data.__lock;
	s_okf(r == 0 && (word & FUTEX_OWNER_DIED) && (word & FUTEX_TID_MASK) == 0,
	      "a thread that dies holding a robust mutex leaves FUTEX_OWNER_DIED in its word",
	      "lock word %#x", word);
	r = timed_lock(&robust);
	S_EQ("the next locker gets EOWNERDEAD", r, EOWNERDEAD);
	S_CHECK("pthread_mutex_consistent succeeds",
		r == EOWNERDEAD ? pthread_mutex_consistent(&robust) : -1, 0, 0);
	pthread_mutex_unlock(&robust);
	S_EQ("once consistent the mutex locks normally", timed_lock(&robust),
	     0);
	pthread_mutex_unlock(&robust);

	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return;
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(shared, &attr);
	pid = fork();
	if (pid == 0) {
		pthread_mutex_lock(shared);
		_exit(0);
	}
	st = -1;
	if (pid > 0)
		reap(pid, &st, 3000);
	S_EQ("a process that dies holding a shared robust mutex: EOWNERDEAD",
	     st == EXITED(0) ? timed_lock(shared) : -1, EOWNERDEAD);
}

int main(void)
{
	plan(39);

	solo_points(); /* 16 */
	scenario("wake", 3, wake_scenario, NULL);
	scenario("bitset", 3, bitset_scenario, NULL);
	scenario("requeue", 6, requeue_scenario, NULL);
	scenario("wake_op", 3, wake_op_scenario, NULL);
	scenario("shared", 3, shared_scenario, NULL);
	scenario("robust", 5, robust_scenario, NULL);
	return done();
}
