/*
 * Shared by every ward-bench workload: the clock, the timed loop and the
 * one-number result line.
 *
 * A workload is run as `NAME MIN_MS [ARGS...]`. It repeats its operation in
 * growing batches until at least MIN_MS milliseconds have passed (after a
 * warm-up of an eighth of that), and prints the result as its last line:
 * nanoseconds per operation, or MiB/s. Exit status 77 means "does not apply
 * here" (the reason is on stderr); any other non-zero status is an error.
 */
#ifndef WARD_BENCH_H
#define WARD_BENCH_H

#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXIT_NOT_APPLICABLE 77

static inline long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline void die(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	exit(1);
}

static inline void not_applicable(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	exit(EXIT_NOT_APPLICABLE);
}

/* MIN_MS from argv[1], as nanoseconds. */
static inline long long min_ns_arg(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s MIN_MS [ARGS...]\n", argv[0]);
		exit(2);
	}
	long long ms = atoll(argv[1]);
	if (ms <= 0) {
		fprintf(stderr, "MIN_MS must be positive, not %s\n", argv[1]);
		exit(2);
	}
	return ms * 1000000LL;
}

/* Pins the calling thread to `cpu`. */
static inline void pin_to(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		die("sched_setaffinity");
}

/*
 * The CPU this thread is on now (the scheduler's pick, likely the idler
 * one), or with `other` set, another CPU this process may use; -1 if none.
 */
static inline int pick_cpu(int other)
{
	int here = sched_getcpu();
	if (here < 0)
		die("sched_getcpu");
	if (!other)
		return here;
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		die("sched_getaffinity");
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set) && cpu != here)
			return cpu;
	return -1;
}

/*
 * Runs BODY in batches until `min_ns` have passed; stores the mean
 * nanoseconds per run of BODY in `out`. Each batch is sized to end near the
 * deadline, so slow operations do not overshoot it by much.
 */
#define TIMED_LOOP(min_ns, out, BODY)                                          \
	do {                                                                   \
		long long _iters = 0, _batch = 1, _start = now_ns(), _el;      \
		for (;;) {                                                     \
			for (long long _i = 0; _i < _batch; _i++) {            \
				BODY;                                          \
			}                                                      \
			_iters += _batch;                                      \
			_el = now_ns() - _start;                               \
			if (_el >= (min_ns))                                   \
				break;                                         \
			long long _per = _el / _iters + 1;                     \
			long long _left = ((min_ns) - _el) / _per + 1;         \
			_batch = _left < 2 * _batch ? _left : 2 * _batch;      \
		}                                                              \
		(out) = (double)_el / (double)_iters;                          \
	} while (0)

/* A warm-up of an eighth of the time, then the measured loop. */
#define MEASURE(min_ns, out, BODY)                                             \
	do {                                                                   \
		double _warm;                                                  \
		TIMED_LOOP((min_ns) / 8, _warm, BODY);                         \
		(void)_warm;                                                   \
		TIMED_LOOP((min_ns), out, BODY);                               \
	} while (0)

static inline void print_ns_per_op(double ns)
{
	printf("%.1f\n", ns);
	fflush(stdout);
}

#endif
