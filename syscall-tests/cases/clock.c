/* clock_gettime(2), clock_getres(2), gettimeofday(2) and time(2): clocks
 * move forward, agree with each other, and reject bad ids and pointers.
 * Error paths use the raw syscall: the vDSO would fault on a bad pointer. */
#include "tap.h"

#include <sys/time.h>
#include <time.h>

static long long ns(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static int valid(const struct timespec *t)
{
	return t->tv_sec >= 0 && t->tv_nsec >= 0 && t->tv_nsec < 1000000000L;
}

int main(void)
{
	struct timespec a, b, res;
	struct timeval tv;
	time_t t1, t2;
	int i, mono_ok = 1;
	long raw;

	plan(23);

	CHECK("CLOCK_MONOTONIC succeeds", clock_gettime(CLOCK_MONOTONIC, &a),
	      0, 0);
	CHECK_TRUE("its timespec is normalised", valid(&a));
	for (i = 0; i < 1000; i++) {
		clock_gettime(CLOCK_MONOTONIC, &b);
		mono_ok &= ns(&b) >= ns(&a);
		a = b;
	}
	CHECK_TRUE("CLOCK_MONOTONIC never goes backwards", mono_ok);
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_MONOTONIC, &b);
	CHECK_TRUE("the raw syscall and the vDSO agree in order",
		   ns(&b) >= ns(&a));

	CHECK("CLOCK_REALTIME succeeds", clock_gettime(CLOCK_REALTIME, &a), 0,
	      0);
	t1 = time(NULL);
	CHECK_TRUE("CLOCK_REALTIME is within 2 s of time()",
		   a.tv_sec - t1 <= 2 && t1 - a.tv_sec <= 2);
	CHECK_TRUE("CLOCK_REALTIME is after 2020", a.tv_sec > 1577836800);
	CHECK("CLOCK_BOOTTIME succeeds", clock_gettime(CLOCK_BOOTTIME, &a), 0,
	      0);
	CHECK("CLOCK_MONOTONIC_RAW succeeds",
	      clock_gettime(CLOCK_MONOTONIC_RAW, &a), 0, 0);
	CHECK("CLOCK_MONOTONIC_COARSE succeeds",
	      clock_gettime(CLOCK_MONOTONIC_COARSE, &a), 0, 0);
	CHECK("CLOCK_PROCESS_CPUTIME_ID succeeds",
	      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a), 0, 0);
	CHECK("CLOCK_THREAD_CPUTIME_ID succeeds",
	      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a), 0, 0);
	CHECK_ERR("a bad clock id gives EINVAL",
		  syscall(SYS_clock_gettime, 1000, &a), EINVAL);
	CHECK_ERR("a bad pointer gives EFAULT",
		  syscall(SYS_clock_gettime, CLOCK_MONOTONIC, BAD_PTR), EFAULT);

	CHECK("clock_getres(CLOCK_MONOTONIC) succeeds",
	      syscall(SYS_clock_getres, CLOCK_MONOTONIC, &res), 0, 0);
	CHECK_TRUE("the resolution is positive and at most 10 ms",
		   res.tv_sec == 0 && res.tv_nsec > 0 &&
			   res.tv_nsec <= 10000000);
	CHECK("clock_getres with a NULL pointer succeeds",
	      syscall(SYS_clock_getres, CLOCK_REALTIME, NULL), 0, 0);
	CHECK_ERR("clock_getres of a bad clock id gives EINVAL",
		  syscall(SYS_clock_getres, 1000, &res), EINVAL);

	CHECK("gettimeofday succeeds", gettimeofday(&tv, NULL), 0, 0);
	t2 = time(NULL);
	CHECK_TRUE("tv_usec is below one million and time is close",
		   tv.tv_usec >= 0 && tv.tv_usec < 1000000 &&
			   t2 - tv.tv_sec <= 2 && tv.tv_sec - t2 <= 2);
	CHECK_ERR("gettimeofday into a bad pointer gives EFAULT",
		  syscall(SYS_gettimeofday, BAD_PTR, NULL), EFAULT);

	raw = syscall(SYS_time, &t1);
	CHECK_TRUE("time() returns what it stores", raw == (long)t1 && raw > 0);
	CHECK_ERR("time() into a bad pointer gives EFAULT",
		  syscall(SYS_time, BAD_PTR), EFAULT);
	return done();
}
