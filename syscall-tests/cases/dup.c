/* dup(2), dup2(2) and dup3(2): copies share the open file, not fd flags. */
#include "tap.h"

static int same_file(int a, int b)
{
	struct stat x, y;

	return fstat(a, &x) == 0 && fstat(b, &y) == 0 &&
	       x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

int main(void)
{
	long d, low;
	int fd, zero;

	plan(20);

	fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	low = open("/dev/null", O_RDONLY);
	close(low);
	CHECK_OKV("dup succeeds", dup(fd), d);
	CHECK_EQ("dup returns the lowest free fd", d, low);
	CHECK_TRUE("the copy refers to the same file", same_file(fd, d));
	CHECK_EQ("the copy has no FD_CLOEXEC", fcntl(d, F_GETFD), 0);
	lseek(fd, 7, SEEK_SET);
	CHECK("the copy shares the file offset", lseek(d, 0, SEEK_CUR), 7, 0);
	close(d);
	CHECK_ERR("dup of a bad fd gives EBADF", dup(9999), EBADF);

	CHECK("dup2 onto itself returns the fd", dup2(fd, fd), fd, 0);
	CHECK_EQ("dup2 onto itself keeps FD_CLOEXEC", fcntl(fd, F_GETFD),
		 FD_CLOEXEC);
	CHECK_ERR("dup2 onto itself of a bad fd gives EBADF",
		  syscall(SYS_dup2, 9999, 9999), EBADF);
	CHECK("dup2 to a chosen fd returns it", dup2(fd, 50), 50, 0);
	CHECK_TRUE("fd 50 refers to the same file", same_file(fd, 50));
	zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	CHECK("dup2 over an open fd returns it", dup2(zero, 50), 50, 0);
	CHECK_TRUE("the old file at fd 50 was replaced", same_file(zero, 50));
	CHECK_ERR("dup2 of a bad fd gives EBADF", dup2(9999, 51), EBADF);
	CHECK_ERR("dup2 to a negative fd gives EBADF",
		  syscall(SYS_dup2, fd, -1), EBADF);
	close(50);

	CHECK_ERR("dup3 onto itself gives EINVAL", dup3(fd, fd, 0), EINVAL);
	CHECK_ERR("dup3 with bad flags gives EINVAL",
		  dup3(fd, 52, O_NONBLOCK), EINVAL);
	CHECK("dup3 with O_CLOEXEC returns the target", dup3(fd, 52, O_CLOEXEC),
	      52, 0);
	CHECK_EQ("the dup3 copy has FD_CLOEXEC", fcntl(52, F_GETFD),
		 FD_CLOEXEC);
	CHECK_ERR("dup3 of a bad fd gives EBADF", dup3(9999, 53, 0), EBADF);

	close(52);
	close(zero);
	close(fd);
	return done();
}
