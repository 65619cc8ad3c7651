/* epoll_create(2), epoll_create1(2), epoll_ctl(2) and the epoll_wait(2)
 * family on pipes in one process: the ctl errors, level and edge
 * triggering, EPOLLONESHOT, MOD and DEL, interests dropped on close,
 * nesting and loops, and the wait errors. */
#include "tap.h"

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>

/* epoll_wait with timeout 0 into *ev; returns the count or -1. */
static int wait0(int ep, struct epoll_event *ev)
{
	return epoll_wait(ep, ev, 1, 0);
}

static int add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int main(void)
{
	struct epoll_event ev, evs[4];
	struct pollfd pfd;
	sigset_t empty;
	struct timespec zero = { 0, 0 };
	int ep, et, ep2, p[2], q[2], file, r;
	char c;

	plan(43);
	sigemptyset(&empty);

	CHECK_ERR("epoll_create(0) gives EINVAL", epoll_create(0), EINVAL);
	CHECK_ERR("epoll_create1 with an unknown flag gives EINVAL",
		  epoll_create1(O_NONBLOCK), EINVAL);
	CHECK_OKV("epoll_create1(EPOLL_CLOEXEC) succeeds",
		  epoll_create1(EPOLL_CLOEXEC), r);
	ep = r;
	CHECK_EQ("EPOLL_CLOEXEC sets FD_CLOEXEC", fcntl(ep, F_GETFD),
		 FD_CLOEXEC);
	CHECK_EQ("an epoll fd is O_RDWR", fcntl(ep, F_GETFL), O_RDWR);
	pipe2(p, O_CLOEXEC | O_NONBLOCK);
	file = open("/etc/passwd", O_RDONLY | O_CLOEXEC);

	CHECK("EPOLL_CTL_ADD of a pipe succeeds", add(ep, p[0], EPOLLIN, 7),
	      0, 0);
	CHECK_ERR("adding it again gives EEXIST", add(ep, p[0], EPOLLIN, 7),
		  EEXIST);
	ev = (struct epoll_event){ .events = EPOLLIN };
	CHECK_ERR("EPOLL_CTL_MOD of an fd not added gives ENOENT",
		  epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev), ENOENT);
	CHECK_ERR("EPOLL_CTL_DEL of an fd not added gives ENOENT",
		  epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), ENOENT);
	CHECK_ERR("an epfd that is not an epoll gives EINVAL",
		  add(p[1], p[0], EPOLLIN, 0), EINVAL);
	CHECK_ERR("a closed fd gives EBADF", add(ep, 999, EPOLLIN, 0), EBADF);
	CHECK_ERR("adding the epoll to itself gives EINVAL",
		  add(ep, ep, EPOLLIN, 0), EINVAL);
	CHECK_ERR("adding a regular file gives EPERM",
		  add(ep, file, EPOLLIN, 0), EPERM);
	CHECK_ERR("an unknown op gives EINVAL",
		  epoll_ctl(ep, 99, p[1], &ev), EINVAL);
	CHECK_ERR("a bad event pointer gives EFAULT",
		  epoll_ctl(ep, EPOLL_CTL_ADD, p[1], BAD_PTR), EFAULT);

	CHECK("epoll_wait with timeout 0 and nothing ready returns 0",
	      wait0(ep, evs), 0, 0);
	CHECK_ERR("maxevents 0 gives EINVAL", epoll_wait(ep, evs, 0, 0),
		  EINVAL);
	CHECK_ERR("negative maxevents gives EINVAL",
		  syscall(SYS_epoll_wait, ep, evs, -1, 0), EINVAL);
	CHECK_ERR("epoll_wait on a non-epoll fd gives EINVAL",
		  epoll_wait(p[0], evs, 1, 0), EINVAL);

	et = epoll_create1(EPOLL_CLOEXEC);
	add(et, p[0], EPOLLIN | EPOLLET, 8);
	write(p[1], "ab", 2);
	memset(evs, 0, sizeof(evs));
	CHECK("level-triggered: a write makes the pipe ready",
	      epoll_wait(ep, evs, 4, 1000), 1, 0);
	CHECK_TRUE("the event is EPOLLIN with the data given",
		   evs[0].events == EPOLLIN && evs[0].data.u64 == 7);
	CHECK("level-triggered: still ready while unread", wait0(ep, evs), 1,
	      0);
	CHECK("edge-triggered: the write is reported", wait0(et, evs), 1, 0);
	CHECK("edge-triggered: not again without a new write",
	      wait0(et, evs), 0, 0);
	write(p[1], "c", 1);
	CHECK("edge-triggered: a new write is reported", wait0(et, evs), 1, 0);
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLONESHOT,
				   .data.u64 = 9 };
	epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
	CHECK("EPOLLONESHOT: reported once", wait0(ep, evs), 1, 0);
	CHECK("EPOLLONESHOT: then disabled", wait0(ep, evs), 0, 0);
	CHECK("EPOLL_CTL_MOD rearms it",
	      epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), 0, 0);
	CHECK_TRUE("and it is reported with the new data",
		   wait0(ep, evs) == 1 && evs[0].data.u64 == 9);
	CHECK("EPOLL_CTL_DEL removes it",
	      epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), 0, 0);
	CHECK("a removed fd is not reported", wait0(ep, evs), 0, 0);

	add(ep, p[1], EPOLLOUT, 10);
	CHECK_TRUE("a pipe's write end reports EPOLLOUT",
		   wait0(ep, evs) == 1 && evs[0].events == EPOLLOUT);
	epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL);

	pipe2(q, O_CLOEXEC);
	add(ep, q[0], EPOLLIN, 11);
	close(q[1]);
	CHECK_TRUE("EPOLLHUP is reported without being asked for",
		   wait0(ep, evs) == 1 && evs[0].events == EPOLLHUP);
	close(q[0]);
	CHECK("closing the fd drops its interest", wait0(ep, evs), 0, 0);

	ep2 = epoll_create1(EPOLL_CLOEXEC);
	add(ep2, p[0], EPOLLIN, 12);
	CHECK("an epoll can watch another epoll", add(ep, ep2, EPOLLIN, 13),
	      0, 0);
	CHECK_TRUE("the outer epoll reports the inner one ready",
		   wait0(ep, evs) == 1 && evs[0].data.u64 == 13);
	CHECK_ERR("a loop of epolls gives ELOOP", add(ep2, ep, EPOLLIN, 0),
		  ELOOP);
	epoll_ctl(ep, EPOLL_CTL_DEL, ep2, NULL);
	add(ep, ep2, EPOLLIN | EPOLLET, 14);
	CHECK("edge-triggered on an epoll: its ready file is reported",
	      wait0(ep, evs), 1, 0);
	CHECK("edge-triggered on an epoll: not again without a new event",
	      wait0(ep, evs), 0, 0);
	write(p[1], "d", 1);
	CHECK("edge-triggered on an epoll: an inner event is reported",
	      wait0(ep, evs), 1, 0);
	pfd = (struct pollfd){ .fd = ep2, .events = POLLIN };
	CHECK_TRUE("poll sees an epoll with ready events as readable",
		   poll(&pfd, 1, 0) == 1 && pfd.revents == POLLIN);
	CHECK("epoll_pwait with a signal mask reports the ready fd",
	      epoll_pwait(ep2, evs, 4, 0, &empty), 1, 0);
	CHECK("epoll_pwait2 with a zero timespec reports the ready fd",
	      syscall(SYS_epoll_pwait2, ep2, evs, 4, &zero, NULL, 8), 1, 0);

	read(p[0], &c, 1);
	close(ep2);
	close(et);
	close(ep);
	close(file);
	close(p[0]);
	close(p[1]);
	return done();
}
