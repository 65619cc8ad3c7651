/* readv(2) and writev(2): scatter/gather I/O and the iovec checks. */
#include "tap.h"

#include <limits.h>
#include <sys/uio.h>

int main(void)
{
	static char whole[65536];
	static struct iovec many[IOV_MAX + 1];
	char a[5], b[7];
	struct iovec iov[2], bad[2];
	int fd, null, i;
	long size;

	plan(14);

	size = slurp("/etc/passwd", whole, sizeof(whole));
	fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	iov[0].iov_base = a;
	iov[0].iov_len = sizeof(a);
	iov[1].iov_base = b;
	iov[1].iov_len = sizeof(b);
	CHECK("readv into two buffers returns the total", readv(fd, iov, 2),
	      12, 0);
	CHECK_TRUE("readv fills the buffers in order",
		   size >= 12 && memcmp(a, whole, 5) == 0 &&
			   memcmp(b, whole + 5, 7) == 0);
	CHECK("readv advances the file offset", lseek(fd, 0, SEEK_CUR), 12, 0);
	CHECK("readv with iovcnt 0 returns 0", readv(fd, iov, 0), 0, 0);
	CHECK_ERR("readv with iovcnt < 0 gives EINVAL",
		  syscall(SYS_readv, fd, iov, -1), EINVAL);
	CHECK_ERR("readv with a bad iov pointer gives EFAULT",
		  syscall(SYS_readv, fd, BAD_PTR, 1), EFAULT);

	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	iov[0].iov_base = "hello";
	iov[0].iov_len = 5;
	iov[1].iov_base = " world";
	iov[1].iov_len = 6;
	CHECK("writev to /dev/null returns the total", writev(null, iov, 2),
	      11, 0);
	iov[0].iov_base = "# wri";
	iov[0].iov_len = 5;
	iov[1].iov_base = "tev to stdout\n";
	iov[1].iov_len = 14;
	CHECK("writev to stdout returns the total", writev(1, iov, 2), 19, 0);
	CHECK_ERR("writev with iovcnt < 0 gives EINVAL",
		  syscall(SYS_writev, null, iov, -1), EINVAL);
	for (i = 0; i < IOV_MAX + 1; i++) {
		many[i].iov_base = whole;
		many[i].iov_len = 1;
	}
	CHECK("writev with iovcnt == IOV_MAX is accepted",
	      writev(null, many, IOV_MAX), IOV_MAX, 0);
	CHECK_ERR("writev with iovcnt > IOV_MAX gives EINVAL",
		  syscall(SYS_writev, null, many, IOV_MAX + 1), EINVAL);
	CHECK_ERR("readv with iovcnt > IOV_MAX gives EINVAL",
		  syscall(SYS_readv, fd, many, IOV_MAX + 1), EINVAL);
	bad[0].iov_base = whole;
	bad[0].iov_len = (size_t)-1;
	CHECK_ERR("an iov_len that is negative as ssize_t gives EINVAL",
		  syscall(SYS_writev, null, bad, 1), EINVAL);
	CHECK_ERR("writev on a read-only fd gives EBADF", writev(fd, iov, 2),
		  EBADF);

	close(fd);
	close(null);
	return done();
}
