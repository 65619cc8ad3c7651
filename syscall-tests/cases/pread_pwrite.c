/* pread64(2) and pwrite64(2): positioned I/O that leaves the offset alone. */
#include "tap.h"

int main(void)
{
	static char whole[65536];
	char buf[64];
	int fd, null, wnull;
	long size;
	struct stat st;

	plan(14);

	size = slurp("/etc/passwd", whole, sizeof(whole));
	fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	CHECK("pread of 8 bytes at offset 4 returns 8", pread(fd, buf, 8, 4),
	      8, 0);
	CHECK_TRUE("the bytes come from offset 4",
		   size >= 12 && memcmp(buf, whole + 4, 8) == 0);
	CHECK("pread does not move the file offset", lseek(fd, 0, SEEK_CUR),
	      0, 0);
	CHECK("pread at end of file returns 0",
	      pread(fd, buf, sizeof(buf), size), 0, 0);
	CHECK("pread past end of file returns 0",
	      pread(fd, buf, sizeof(buf), size + 4096), 0, 0);
	CHECK_ERR("pread at a negative offset gives EINVAL",
		  syscall(SYS_pread64, fd, buf, 8, -1L), EINVAL);
	CHECK_ERR("pread into a bad pointer gives EFAULT",
		  syscall(SYS_pread64, fd, BAD_PTR, 8, 0L), EFAULT);

	wnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	CHECK_ERR("pread on a write-only fd gives EBADF",
		  pread(wnull, buf, 8, 0), EBADF);
	CHECK("pwrite to /dev/null returns the count",
	      pwrite(wnull, "abcdef", 6, 100), 6, 0);
	CHECK_ERR("pwrite at a negative offset gives EINVAL",
		  syscall(SYS_pwrite64, wnull, "abc", 3, -1L), EINVAL);
	CHECK_ERR("pwrite on a read-only fd gives EBADF",
		  pwrite(fd, "x", 1, 0), EBADF);
	CHECK_ERR("pwrite on a bad fd gives EBADF", pwrite(9999, "x", 1, 0),
		  EBADF);

	fstat(1, &st);
	if (S_ISFIFO(st.st_mode)) {
		/* Were it written, "#\n" would be a harmless TAP comment. */
		CHECK_ERR("pwrite on a pipe (stdout) gives ESPIPE",
			  pwrite(1, "#\n", 2, 0), ESPIPE);
	} else {
		skip("pwrite on a pipe (stdout) gives ESPIPE",
		     "stdout is not a pipe");
	}

	null = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	memset(buf, 'x', sizeof(buf));
	CHECK("pread of /dev/zero at a large offset fills the buffer",
	      pread(null, buf, sizeof(buf), 1L << 40), sizeof(buf), 0);

	close(fd);
	close(null);
	close(wnull);
	return done();
}
