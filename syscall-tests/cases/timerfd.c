/* timerfd_create(2), timerfd_settime(2) and timerfd_gettime(2): arming,
 * reading the time left, one-shot and interval expirations, absolute
 * times, poll and epoll readiness, and the error paths. Waits are short
 * (20 ms); only lower bounds of elapsed time are checked. Blocking reads
 * run in a child under a deadline (proc.h). */
#include "tap.h"
#include "proc.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>

#define MS 1000000L

static long long now_on(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct itimerspec after_ns(long long value, long long interval)
{
	struct itimerspec its = {
		.it_value = { value / 1000000000LL, value % 1000000000LL },
		.it_interval = { interval / 1000000000LL,
				 interval % 1000000000LL },
	};

	return its;
}

static long long ns_of(struct timespec ts)
{
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t ticks(int fd)
{
	uint64_t v = 0;

	return read(fd, &v, sizeof(v)) == sizeof(v) ? v : 0;
}

/* Blocking reads of a monotonic and an absolute realtime timer. */
static void blocking_reads(void *arg)
{
	struct itimerspec its, cur;
	long long start, target;
	int fd;

	(void)arg;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	start = now_on(CLOCK_MONOTONIC);
	its = after_ns(20 * MS, 0);
	timerfd_settime(fd, 0, &its, NULL);
	S_EQ("a blocking read waits for the expiry and returns 1", ticks(fd),
	     1);
	S_TRUE("it returned no earlier than the timer's time",
	       now_on(CLOCK_MONOTONIC) - start >= 20 * MS);
	timerfd_gettime(fd, &cur);
	S_EQ("an expired one-shot timer is disarmed", ns_of(cur.it_value), 0);
	close(fd);

	fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC);
	target = now_on(CLOCK_REALTIME) + 20 * MS;
	its = after_ns(target, 0);
	timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
	S_EQ("an absolute CLOCK_REALTIME timer fires once", ticks(fd), 1);
	S_TRUE("no earlier than its time", now_on(CLOCK_REALTIME) >= target);
	close(fd);
}

int main(void)
{
	struct itimerspec its, old, cur;
	struct pollfd pfd;
	struct epoll_event ev;
	uint32_t small;
	uint64_t n;
	int fd, ep, p[2], r;

	plan(33);

	CHECK_OKV("timerfd_create on CLOCK_MONOTONIC succeeds",
		  timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC),
		  r);
	fd = r;
	CHECK_EQ("TFD_CLOEXEC sets FD_CLOEXEC", fcntl(fd, F_GETFD),
		 FD_CLOEXEC);
	CHECK_EQ("TFD_NONBLOCK shows in F_GETFL", fcntl(fd, F_GETFL),
		 O_RDWR | O_NONBLOCK);
	memset(&cur, 0xff, sizeof(cur));
	CHECK("timerfd_gettime of a new timer succeeds",
	      timerfd_gettime(fd, &cur), 0, 0);
	CHECK_TRUE("a new timer is disarmed",
		   ns_of(cur.it_value) == 0 && ns_of(cur.it_interval) == 0);
	CHECK_ERR("a read of a disarmed timer is EAGAIN when non-blocking",
		  read(fd, &n, sizeof(n)), EAGAIN);

	its = after_ns(10000 * MS, 0);
	CHECK("timerfd_settime arms a 10 s timer",
	      timerfd_settime(fd, 0, &its, NULL), 0, 0);
	timerfd_gettime(fd, &cur);
	CHECK_TRUE("timerfd_gettime shows the time left",
		   ns_of(cur.it_value) > 9000 * MS &&
			   ns_of(cur.it_value) <= 10000 * MS &&
			   ns_of(cur.it_interval) == 0);
	CHECK_ERR("a read before it expires is EAGAIN",
		  read(fd, &n, sizeof(n)), EAGAIN);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	CHECK("poll sees no expiry yet", poll(&pfd, 1, 0), 0, 0);
	its = after_ns(0, 0);
	CHECK("timerfd_settime with zero disarms it",
	      timerfd_settime(fd, 0, &its, &old), 0, 0);
	CHECK_TRUE("and reports the old setting",
		   ns_of(old.it_value) > 9000 * MS &&
			   ns_of(old.it_value) <= 10000 * MS);
	timerfd_gettime(fd, &cur);
	CHECK_EQ("a disarmed timer has no time left", ns_of(cur.it_value), 0);

	scenario("blocking reads", 5, blocking_reads, NULL);

	its = after_ns(5 * MS, 5 * MS);
	timerfd_settime(fd, 0, &its, NULL);
	nanosleep(&(struct timespec){ 0, 30 * MS }, NULL);
	n = ticks(fd);
	okf(n >= 5, "an interval timer counts every expiry",
	    "%llu expirations in 30 ms", (unsigned long long)n);
	timerfd_gettime(fd, &cur);
	CHECK_TRUE("an interval timer stays armed",
		   ns_of(cur.it_interval) == 5 * MS &&
			   ns_of(cur.it_value) <= 5 * MS);
	its = after_ns(0, 0);
	timerfd_settime(fd, 0, &its, NULL);

	its = after_ns(1, 0);
	timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
	CHECK_EQ("an absolute time in the past expires at once", ticks(fd),
		 1);

	its = after_ns(20 * MS, 0);
	timerfd_settime(fd, 0, &its, NULL);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	CHECK_TRUE("poll wakes when the timer expires",
		   poll(&pfd, 1, 5000) == 1 && pfd.revents == POLLIN);
	pfd = (struct pollfd){ .fd = fd, .events = POLLRDNORM | POLLOUT };
	CHECK("an expired timer reports only POLLIN", poll(&pfd, 1, 0), 0, 0);
	ticks(fd);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev = (struct epoll_event){ .events = EPOLLIN };
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	timerfd_settime(fd, 0, &its, NULL);
	CHECK("epoll_wait wakes when the timer expires",
	      epoll_wait(ep, &ev, 1, 5000), 1, 0);
	close(ep);

	CHECK_ERR("a read of 4 bytes gives EINVAL",
		  read(fd, &small, sizeof(small)), EINVAL);
	CHECK_ERR("timerfd_create on a CPU-time clock gives EINVAL",
		  timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
	CHECK_ERR("timerfd_create with an unknown flag gives EINVAL",
		  timerfd_create(CLOCK_MONOTONIC, O_APPEND), EINVAL);
	CHECK_OKV("timerfd_create on CLOCK_BOOTTIME succeeds",
		  timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC), r);
	close(r);
	its = after_ns(MS, 0);
	CHECK_ERR("timerfd_settime with an unknown flag gives EINVAL",
		  timerfd_settime(fd, 4, &its, NULL), EINVAL);
	its.it_value.tv_nsec = 1000000000;
	CHECK_ERR("timerfd_settime with tv_nsec past a second gives EINVAL",
		  timerfd_settime(fd, 0, &its, NULL), EINVAL);
	its = after_ns(MS, 0);
	pipe2(p, O_CLOEXEC);
	CHECK_ERR("timerfd_settime on a pipe gives EINVAL",
		  timerfd_settime(p[0], 0, &its, NULL), EINVAL);
	CHECK_ERR("timerfd_settime on a closed fd gives EBADF",
		  timerfd_settime(999, 0, &its, NULL), EBADF);
	CHECK_ERR("timerfd_gettime into a bad pointer gives EFAULT",
		  syscall(SYS_timerfd_gettime, fd, BAD_PTR), EFAULT);

	close(p[0]);
	close(p[1]);
	close(fd);
	return done();
}
