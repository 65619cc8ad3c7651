/* close(2): closing once, twice, and fds that were never open. */
#include "tap.h"

int main(void)
{
	int fd, again;

	plan(6);

	fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	CHECK("close of an open fd returns 0", close(fd), 0, 0);
	CHECK_ERR("closing it twice gives EBADF", close(fd), EBADF);
	CHECK_ERR("the closed fd is gone for fcntl too", fcntl(fd, F_GETFD),
		  EBADF);
	again = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	CHECK_EQ("the lowest free fd is reused", again, fd);
	CHECK_ERR("close(-1) gives EBADF", close(-1), EBADF);
	CHECK_ERR("close of a huge fd gives EBADF", close(1 << 20), EBADF);
	close(again);
	return done();
}
