/* lseek(2): SEEK_SET/CUR/END, seeking past the end, and the error paths. */
#include "tap.h"

int main(void)
{
	struct stat st;
	char c, first;
	int fd, dfd, null;

	plan(15);

	fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	fstat(fd, &st);
	CHECK("SEEK_SET to 5 returns 5", lseek(fd, 5, SEEK_SET), 5, 0);
	CHECK("SEEK_CUR by 3 returns 8", lseek(fd, 3, SEEK_CUR), 8, 0);
	CHECK("SEEK_CUR by -2 returns 6", lseek(fd, -2, SEEK_CUR), 6, 0);
	CHECK("SEEK_END by 0 returns the size", lseek(fd, 0, SEEK_END),
	      st.st_size, 0);
	CHECK("SEEK_END by -1 returns size - 1", lseek(fd, -1, SEEK_END),
	      st.st_size - 1, 0);
	CHECK("seeking past the end is allowed", lseek(fd, 100, SEEK_END),
	      st.st_size + 100, 0);
	CHECK("read past the end returns 0", read(fd, &c, 1), 0, 0);
	lseek(fd, 0, SEEK_SET);
	read(fd, &first, 1);
	CHECK("read after SEEK_SET 0 starts at byte 0 again",
	      (lseek(fd, 0, SEEK_SET), read(fd, &c, 1) == 1 && c == first), 1,
	      0);
	CHECK_ERR("a negative resulting offset gives EINVAL",
		  lseek(fd, -1, SEEK_SET), EINVAL);
	CHECK("a failed seek leaves the offset alone",
	      lseek(fd, 0, SEEK_CUR), 1, 0);
	CHECK_ERR("a bad whence gives EINVAL", lseek(fd, 0, 99), EINVAL);
	CHECK_ERR("a bad fd gives EBADF", lseek(9999, 0, SEEK_SET), EBADF);

	dfd = open("/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK("SEEK_SET 0 on a directory returns 0", lseek(dfd, 0, SEEK_SET),
	      0, 0);

	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK("lseek on /dev/null always returns 0",
	      lseek(null, 100, SEEK_SET), 0, 0);

	fstat(1, &st);
	if (S_ISFIFO(st.st_mode))
		CHECK_ERR("lseek on a pipe (stdout) gives ESPIPE",
			  lseek(1, 0, SEEK_CUR), ESPIPE);
	else
		skip("lseek on a pipe (stdout) gives ESPIPE",
		     "stdout is not a pipe");

	close(fd);
	close(dfd);
	close(null);
	return done();
}
