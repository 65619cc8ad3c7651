/* ioctl(2): terminal requests on non-terminals, FIONREAD and FIOCLEX. */
#include "tap.h"

#include <sys/ioctl.h>
#include <termios.h>

int main(void)
{
	struct termios t;
	struct winsize ws;
	struct stat st;
	int null, fd, n = -1;

	plan(11);

	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	CHECK_ERR("TCGETS on /dev/null gives ENOTTY", ioctl(null, TCGETS, &t),
		  ENOTTY);
	CHECK_ERR("TIOCGWINSZ on /dev/null gives ENOTTY",
		  ioctl(null, TIOCGWINSZ, &ws), ENOTTY);
	CHECK("isatty(/dev/null) is 0", isatty(null), 0, 0);
	CHECK_EQ("and sets errno to ENOTTY", (isatty(null), errno), ENOTTY);

	fd = open("/etc/passwd", O_RDONLY);
	CHECK_ERR("TCGETS on a regular file gives ENOTTY",
		  ioctl(fd, TCGETS, &t), ENOTTY);
	CHECK_ERR("TCGETS on a bad fd gives EBADF", ioctl(9999, TCGETS, &t),
		  EBADF);

	fstat(fd, &st);
	lseek(fd, 10, SEEK_SET);
	CHECK("FIONREAD on a regular file succeeds", ioctl(fd, FIONREAD, &n),
	      0, 0);
	CHECK_EQ("FIONREAD gives size minus offset", n, st.st_size - 10);

	CHECK("FIOCLEX succeeds", ioctl(fd, FIOCLEX), 0, 0);
	CHECK_EQ("FIOCLEX sets FD_CLOEXEC", fcntl(fd, F_GETFD), FD_CLOEXEC);
	CHECK_EQ("FIONCLEX clears it",
		 (ioctl(fd, FIONCLEX), fcntl(fd, F_GETFD)), 0);

	close(fd);
	close(null);
	return done();
}
