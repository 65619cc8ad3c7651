/* eventfd(2) and eventfd2(2): the counter, semaphore mode, non-blocking
 * EAGAIN, 8-byte I/O and its errors, overflow, and poll readiness. */
#include "tap.h"

#include <poll.h>
#include <sys/eventfd.h>

static int revents_of(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	return poll(&pfd, 1, 0) < 0 ? -1 : pfd.revents;
}

static int revents(int fd)
{
	return revents_of(fd, POLLIN | POLLOUT);
}

static uint64_t value(int fd)
{
	uint64_t v = 0;

	return read(fd, &v, sizeof(v)) == sizeof(v) ? v : (uint64_t)-1;
}

int main(void)
{
	uint64_t v;
	uint32_t small;
	struct stat st;
	int fd, sem, r;

	plan(25);

	CHECK_OKV("eventfd2 with an initial count succeeds",
		  eventfd(5, EFD_NONBLOCK | EFD_CLOEXEC), r);
	fd = r;
	CHECK_EQ("EFD_CLOEXEC sets FD_CLOEXEC", fcntl(fd, F_GETFD),
		 FD_CLOEXEC);
	CHECK_EQ("F_GETFL shows O_RDWR | O_NONBLOCK", fcntl(fd, F_GETFL),
		 O_RDWR | O_NONBLOCK);
	CHECK_TRUE("fstat shows mode 0600 and no file type",
		   fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == 0 &&
			   (st.st_mode & 0777) == 0600);
	CHECK_EQ("POLLIN and POLLOUT when the count is not zero",
		 revents(fd), POLLIN | POLLOUT);
	CHECK_EQ("POLLRDNORM and POLLWRNORM are never reported",
		 revents_of(fd, POLLRDNORM | POLLWRNORM), 0);
	CHECK_EQ("a read takes the count", value(fd), 5);
	CHECK_EQ("only POLLOUT when the count is zero", revents(fd),
		 POLLOUT);
	CHECK_ERR("a read of zero is EAGAIN when non-blocking",
		  read(fd, &v, sizeof(v)), EAGAIN);
	v = 3;
	CHECK("a write of 8 bytes returns 8", write(fd, &v, sizeof(v)), 8, 0);
	v = 4;
	write(fd, &v, sizeof(v));
	CHECK_EQ("writes add up", value(fd), 7);
	CHECK_ERR("a read of 4 bytes gives EINVAL",
		  read(fd, &small, sizeof(small)), EINVAL);
	CHECK_ERR("a write of 4 bytes gives EINVAL",
		  write(fd, &small, sizeof(small)), EINVAL);
	v = UINT64_MAX;
	CHECK_ERR("writing 2^64-1 gives EINVAL", write(fd, &v, sizeof(v)),
		  EINVAL);
	v = UINT64_MAX - 1;
	CHECK("the count can reach 2^64-2", write(fd, &v, sizeof(v)), 8, 0);
	v = 1;
	CHECK_ERR("a write past it is EAGAIN when non-blocking",
		  write(fd, &v, sizeof(v)), EAGAIN);
	CHECK_EQ("a full count is not writable", revents(fd), POLLIN);
	CHECK_EQ("the whole count is read", value(fd), UINT64_MAX - 1);
	CHECK_ERR("pread gives ESPIPE", pread(fd, &v, sizeof(v), 0), ESPIPE);
	close(fd);

	sem = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK_EQ("semaphore mode: a read returns 1", value(sem), 1);
	CHECK_EQ("semaphore mode: and takes 1 from the count", value(sem), 1);
	CHECK_ERR("semaphore mode: at zero the read is EAGAIN",
		  read(sem, &v, sizeof(v)), EAGAIN);
	close(sem);

	CHECK_ERR("eventfd2 with an unknown flag gives EINVAL",
		  eventfd(0, O_APPEND), EINVAL);
	CHECK_OKV("eventfd (the old call) succeeds", syscall(SYS_eventfd, 1),
		  r);
	CHECK_EQ("its initial count reads back", value(r), 1);
	close(r);
	return done();
}
