/* The standard fds: open at start, stdout writable, and terminal requests
 * only where stdin is a terminal (the runner gives /dev/null, so those
 * points skip there). */
#include "tap.h"

#include <sys/ioctl.h>
#include <termios.h>

int main(void)
{
	struct termios t;
	struct winsize ws;
	struct stat st;
	int acc;

	plan(7);

	CHECK("fd 0 is open", fstat(0, &st), 0, 0);
	CHECK("fd 1 is open", fstat(1, &st), 0, 0);
	CHECK("fd 2 is open", fstat(2, &st), 0, 0);
	acc = fcntl(1, F_GETFL) & O_ACCMODE;
	CHECK_TRUE("stdout is open for writing",
		   acc == O_WRONLY || acc == O_RDWR);
	CHECK_EQ("fd 0 has no FD_CLOEXEC", fcntl(0, F_GETFD), 0);

	if (isatty(0)) {
		CHECK("TCGETS on a terminal stdin succeeds",
		      ioctl(0, TCGETS, &t), 0, 0);
		CHECK("TIOCGWINSZ on a terminal stdin succeeds",
		      ioctl(0, TIOCGWINSZ, &ws), 0, 0);
	} else {
		skip("TCGETS on a terminal stdin succeeds",
		     "stdin is not a terminal");
		skip("TIOCGWINSZ on a terminal stdin succeeds",
		     "stdin is not a terminal");
	}
	return done();
}
