/* poll(2), ppoll(2), select(2) and pselect6(2) on pipes in one process:
 * readiness before and after a write, POLLHUP and POLLERR when the other
 * end closes, POLLNVAL, timeouts, signal masks and the error paths. */
#include "tap.h"

#include <poll.h>
#include <signal.h>
#include <sys/select.h>
#include <time.h>

/* One pollfd's revents after poll(fd, events, timeout 0), or -1 - errno. */
static int revents(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int r = poll(&pfd, 1, 0);

	return r < 0 ? -1 - errno : pfd.revents;
}

/* The kernel's sigset for the raw pselect6 argument. */
struct sigset_arg {
	const uint64_t *ss;
	size_t len;
};

int main(void)
{
	struct pollfd pfds[3];
	struct timespec ts;
	struct timeval tv;
	fd_set rd, wr;
	uint64_t mask = 0;
	struct sigset_arg sa = { &mask, 8 };
	sigset_t empty;
	int p[2], q[2], fd, r;
	char c;

	plan(33);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&empty);
	pipe2(p, O_CLOEXEC);

	CHECK_EQ("an empty pipe's read end is not ready",
		 revents(p[0], POLLIN), 0);
	pfds[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	CHECK("poll with timeout 0 and nothing ready returns 0",
	      poll(pfds, 1, 0), 0, 0);
	CHECK_EQ("the write end is writable", revents(p[1], POLLOUT),
		 POLLOUT);
	write(p[1], "x", 1);
	CHECK_EQ("after a write the read end has POLLIN",
		 revents(p[0], POLLIN | POLLOUT), POLLIN);
	CHECK_EQ("POLLRDNORM is reported when asked for",
		 revents(p[0], POLLRDNORM), POLLRDNORM);
	pfds[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	pfds[1] = (struct pollfd){ .fd = p[1], .events = POLLOUT };
	pfds[2] = (struct pollfd){ .fd = -1, .events = POLLIN };
	CHECK("poll counts the ready fds", poll(pfds, 3, 1000), 2, 0);
	CHECK_EQ("a negative fd is ignored (revents 0)", pfds[2].revents, 0);

	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	close(fd);
	pfds[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
	CHECK("poll of a closed fd returns 1 at once", poll(pfds, 1, 1000), 1,
	      0);
	CHECK_EQ("its revents is POLLNVAL", pfds[0].revents, POLLNVAL);
	CHECK_ERR("poll of nfds past RLIMIT_NOFILE gives EINVAL",
		  syscall(SYS_poll, pfds, -1, 0), EINVAL);
	CHECK_ERR("poll of a bad array gives EFAULT",
		  syscall(SYS_poll, BAD_PTR, 1, 0), EFAULT);
	CHECK("poll of no fds sleeps out its timeout", poll(NULL, 0, 10), 0,
	      0);

	read(p[0], &c, 1);
	close(p[1]);
	CHECK_EQ("with the writer closed the read end has POLLHUP",
		 revents(p[0], POLLIN), POLLHUP);
	close(p[0]);
	pipe2(p, O_CLOEXEC);
	close(p[0]);
	CHECK_EQ("with the reader closed the write end has POLLERR",
		 revents(p[1], POLLOUT), POLLOUT | POLLERR);
	close(p[1]);

	pipe2(p, O_CLOEXEC);
	write(p[1], "y", 1);
	pfds[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	ts = (struct timespec){ 0, 0 };
	CHECK("ppoll with a zero timeout finds the ready fd",
	      ppoll(pfds, 1, &ts, NULL), 1, 0);
	CHECK("ppoll with a signal mask finds the ready fd",
	      ppoll(pfds, 1, NULL, &empty), 1, 0);
	ts = (struct timespec){ 5, 0 };
	CHECK("raw ppoll with a 5 s timeout returns at once",
	      syscall(SYS_ppoll, pfds, 1, &ts, NULL, 8), 1, 0);
	CHECK_TRUE("ppoll writes back the time left",
		   ts.tv_sec <= 5 && ts.tv_sec >= 4 &&
			   !(ts.tv_sec == 5 && ts.tv_nsec > 0));
	CHECK_ERR("ppoll with a bad sigset size gives EINVAL",
		  syscall(SYS_ppoll, pfds, 1, NULL, &mask, 4), EINVAL);
	ts = (struct timespec){ 0, 2000000000 };
	CHECK_ERR("ppoll with tv_nsec past a second gives EINVAL",
		  ppoll(pfds, 1, &ts, NULL), EINVAL);

	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	tv = (struct timeval){ 0, 0 };
	CHECK("select finds the readable fd", select(p[0] + 1, &rd, NULL,
						      NULL, &tv), 1, 0);
	CHECK_TRUE("select leaves its bit set", FD_ISSET(p[0], &rd));
	read(p[0], &c, 1);
	FD_SET(p[0], &rd);
	tv = (struct timeval){ 0, 0 };
	CHECK("select with nothing ready returns 0",
	      select(p[0] + 1, &rd, NULL, NULL, &tv), 0, 0);
	CHECK_TRUE("select clears the bits of fds not ready",
		   !FD_ISSET(p[0], &rd));
	FD_ZERO(&wr);
	FD_SET(p[1], &wr);
	FD_SET(p[0], &rd);
	tv = (struct timeval){ 1, 0 };
	CHECK("select counts the ready bits of every set",
	      select(p[1] + 1, &rd, &wr, NULL, &tv), 1, 0);
	CHECK_TRUE("select writes back the time left",
		   tv.tv_sec <= 1 && !(tv.tv_sec == 1 && tv.tv_usec > 0));
	tv = (struct timeval){ 0, 20000 };
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	CHECK("select sleeps out its timeout when nothing is ready",
	      select(p[0] + 1, &rd, NULL, NULL, &tv), 0, 0);
	FD_ZERO(&rd);
	FD_SET(fd, &rd);
	CHECK_ERR("select of a closed fd gives EBADF",
		  select(fd + 1, &rd, NULL, NULL, NULL), EBADF);
	CHECK_ERR("select with negative nfds gives EINVAL",
		  select(-1, NULL, NULL, NULL, NULL), EINVAL);
	tv = (struct timeval){ 0, -1 };
	CHECK_ERR("select with a negative timeval gives EINVAL",
		  select(0, NULL, NULL, NULL, &tv), EINVAL);

	write(p[1], "z", 1);
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	ts = (struct timespec){ 0, 0 };
	CHECK("pselect6 with a signal mask finds the readable fd",
	      syscall(SYS_pselect6, p[0] + 1, &rd, NULL, NULL, &ts, &sa), 1,
	      0);
	sa.len = 4;
	CHECK_ERR("pselect6 with a bad sigset size gives EINVAL",
		  syscall(SYS_pselect6, p[0] + 1, &rd, NULL, NULL, &ts, &sa),
		  EINVAL);
	pipe2(q, O_CLOEXEC);
	FD_ZERO(&rd);
	FD_SET(q[0], &rd);
	r = pselect(q[0] + 1, &rd, NULL, NULL, &(struct timespec){ 0, 0 },
		    &empty);
	CHECK_EQ("pselect with nothing ready returns 0", r, 0);

	close(q[0]);
	close(q[1]);
	close(p[0]);
	close(p[1]);
	return done();
}
