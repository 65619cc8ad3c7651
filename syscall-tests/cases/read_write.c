/* read(2) and write(2): regular files, devices, stdout and the error paths. */
#include "tap.h"

int main(void)
{
	static char whole[65536];
	char buf[256], zeros[64];
	static const char line[] = "# write(2) to stdout\n";
	int fd, dfd, wfd, full, zero, i, all_zero;
	long size;
	struct stat st;

	plan(18);

	size = slurp("/etc/passwd", whole, sizeof(whole));
	fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	CHECK("read of 16 bytes returns 16", read(fd, buf, 16), 16, 0);
	CHECK_TRUE("the bytes are the start of the file",
		   memcmp(buf, whole, 16) == 0);
	CHECK("read of 0 bytes returns 0", read(fd, buf, 0), 0, 0);
	fstat(fd, &st);
	lseek(fd, 0, SEEK_END);
	CHECK("read at end of file returns 0", read(fd, buf, sizeof(buf)), 0,
	      0);
	CHECK_EQ("the file size matches what was read", st.st_size, size);
	CHECK_ERR("read into a bad pointer gives EFAULT",
		  (lseek(fd, 0, SEEK_SET), syscall(SYS_read, fd, BAD_PTR, 16)),
		  EFAULT);

	zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	memset(zeros, 'x', sizeof(zeros));
	CHECK("read of /dev/zero fills the buffer",
	      read(zero, zeros, sizeof(zeros)), sizeof(zeros), 0);
	all_zero = 1;
	for (i = 0; i < (int)sizeof(zeros); i++)
		all_zero &= zeros[i] == 0;
	CHECK_TRUE("/dev/zero reads zeros", all_zero);

	wfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	CHECK("read of /dev/null (opened O_RDWR) is end of file",
	      (close(wfd), wfd = open("/dev/null", O_RDWR | O_CLOEXEC),
	       read(wfd, buf, sizeof(buf))), 0, 0);
	CHECK("write to /dev/null returns the count",
	      write(wfd, "hello", 5), 5, 0);
	close(wfd);
	wfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	CHECK_ERR("read from a write-only fd gives EBADF",
		  read(wfd, buf, 1), EBADF);
	CHECK_ERR("write to a read-only fd gives EBADF", write(fd, "x", 1),
		  EBADF);

	dfd = open("/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK_ERR("read of a directory gives EISDIR", read(dfd, buf, 16),
		  EISDIR);
	CHECK_ERR("read of a closed fd gives EBADF",
		  (close(dfd), read(dfd, buf, 16)), EBADF);

	CHECK("write to stdout returns the count",
	      write(1, line, sizeof(line) - 1), sizeof(line) - 1, 0);
	CHECK("write of 0 bytes to stdout returns 0", write(1, line, 0), 0,
	      0);
	CHECK_ERR("write to stdout from a bad pointer gives EFAULT",
		  syscall(SYS_write, 1, BAD_PTR, 8), EFAULT);

	full = open("/dev/full", O_WRONLY | O_CLOEXEC);
	CHECK_ERR("write to /dev/full gives ENOSPC", write(full, "x", 1),
		  ENOSPC);

	close(fd);
	close(zero);
	close(wfd);
	close(full);
	return done();
}
