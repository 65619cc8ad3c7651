/* nanosleep(2) and clock_nanosleep(2): sleeps last at least as asked (by
 * CLOCK_MONOTONIC), TIMER_ABSTIME, and invalid times and clocks. Raw
 * syscalls: glibc's clock_nanosleep returns the error instead of -1. */
#include "tap.h"

#include <time.h>

static long long now_ns(clockid_t clk)
{
	struct timespec t;

	clock_gettime(clk, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void)
{
	struct timespec req = { 0, 10000000 }, target;
	long long start, end;

	plan(14);

	start = now_ns(CLOCK_MONOTONIC);
	CHECK("nanosleep of 10 ms returns 0",
	      syscall(SYS_nanosleep, &req, NULL), 0, 0);
	end = now_ns(CLOCK_MONOTONIC);
	okf(end - start >= 10000000LL, "it slept at least 10 ms",
	    "slept only %lld ns", end - start);
	req.tv_nsec = 0;
	CHECK("a zero sleep returns 0", syscall(SYS_nanosleep, &req, NULL), 0,
	      0);
	req.tv_sec = -1;
	CHECK_ERR("a negative tv_sec gives EINVAL",
		  syscall(SYS_nanosleep, &req, NULL), EINVAL);
	req.tv_sec = 0;
	req.tv_nsec = 1000000000L;
	CHECK_ERR("tv_nsec >= 1e9 gives EINVAL",
		  syscall(SYS_nanosleep, &req, NULL), EINVAL);
	req.tv_nsec = -1;
	CHECK_ERR("a negative tv_nsec gives EINVAL",
		  syscall(SYS_nanosleep, &req, NULL), EINVAL);
	CHECK_ERR("a bad pointer gives EFAULT",
		  syscall(SYS_nanosleep, BAD_PTR, NULL), EFAULT);

	req.tv_sec = 0;
	req.tv_nsec = 10000000;
	start = now_ns(CLOCK_MONOTONIC);
	CHECK("clock_nanosleep relative on CLOCK_MONOTONIC returns 0",
	      syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &req, NULL), 0,
	      0);
	end = now_ns(CLOCK_MONOTONIC);
	okf(end - start >= 10000000LL, "it slept at least 10 ms",
	    "slept only %lld ns", end - start);

	clock_gettime(CLOCK_MONOTONIC, &target);
	target.tv_nsec += 10000000;
	if (target.tv_nsec >= 1000000000L) {
		target.tv_nsec -= 1000000000L;
		target.tv_sec++;
	}
	CHECK("clock_nanosleep TIMER_ABSTIME returns 0",
	      syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME,
		      &target, NULL), 0, 0);
	end = now_ns(CLOCK_MONOTONIC);
	CHECK_TRUE("it woke at or after the target",
		   end >= (long long)target.tv_sec * 1000000000LL +
				   target.tv_nsec);
	/* The clock's first nanosecond: in the past however young the clock
	 * is (a sandbox's CLOCK_MONOTONIC may start near zero). */
	target.tv_sec = 0;
	target.tv_nsec = 1;
	CHECK("TIMER_ABSTIME in the past returns 0 at once",
	      syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME,
		      &target, NULL), 0, 0);
	CHECK("clock_nanosleep on CLOCK_REALTIME returns 0",
	      syscall(SYS_clock_nanosleep, CLOCK_REALTIME, 0, &req, NULL), 0,
	      0);
	CHECK_ERR("a bad clock id gives EINVAL",
		  syscall(SYS_clock_nanosleep, 1000, 0, &req, NULL), EINVAL);
	return done();
}
