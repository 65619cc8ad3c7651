/* A futex word passed back and forth between two threads: ns per round trip. */
#include "bench.h"
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

static _Atomic int turn; /* 0: main's turn, 1: the partner's, 2: stop */

static void futex_wait(_Atomic int *word, int expected)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake(_Atomic int *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *partner(void *arg)
{
	(void)arg;
	for (;;) {
		int t;
		while ((t = atomic_load(&turn)) == 0)
			futex_wait(&turn, 0);
		if (t == 2)
			return NULL;
		atomic_store(&turn, 0);
		futex_wake(&turn);
	}
}

static void round_trip(void)
{
	atomic_store(&turn, 1);
	futex_wake(&turn);
	while (atomic_load(&turn) == 1)
		futex_wait(&turn, 1);
}

int main(int argc, char **argv)
{
	long long min_ns = min_ns_arg(argc, argv);
	pthread_t thread;
	if (pthread_create(&thread, NULL, partner, NULL) != 0)
		die("pthread_create");
	double ns;
	MEASURE(min_ns, ns, round_trip());
	atomic_store(&turn, 2);
	futex_wake(&turn);
	pthread_join(thread, NULL);
	print_ns_per_op(ns);
	return 0;
}
