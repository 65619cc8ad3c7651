/* fcntl(2): fd flags, status flags, F_DUPFD(_CLOEXEC), and error paths. */
#include "tap.h"

#include <sys/resource.h>

int main(void)
{
	struct rlimit rl;
	long dup;
	int fd, null, fl;

	plan(20);

	fd = open("/etc/passwd", O_RDONLY);
	CHECK("F_GETFD on a fresh fd is 0", fcntl(fd, F_GETFD), 0, 0);
	CHECK("F_SETFD FD_CLOEXEC succeeds", fcntl(fd, F_SETFD, FD_CLOEXEC), 0,
	      0);
	CHECK("F_GETFD reads FD_CLOEXEC back", fcntl(fd, F_GETFD), FD_CLOEXEC,
	      0);
	CHECK("F_SETFD 0 clears it", (fcntl(fd, F_SETFD, 0), fcntl(fd, F_GETFD)),
	      0, 0);

	fl = fcntl(fd, F_GETFL);
	CHECK_EQ("F_GETFL of an O_RDONLY fd has access mode O_RDONLY",
		 fl & O_ACCMODE, O_RDONLY);
	CHECK_EQ("O_NONBLOCK is clear at first", fl & O_NONBLOCK, 0);
	CHECK("F_SETFL O_NONBLOCK succeeds",
	      fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0, 0);
	CHECK_EQ("F_GETFL shows O_NONBLOCK", fcntl(fd, F_GETFL) & O_NONBLOCK,
		 O_NONBLOCK);
	CHECK_EQ("F_SETFL cannot change the access mode",
		 (fcntl(fd, F_SETFL, O_RDWR), fcntl(fd, F_GETFL) & O_ACCMODE),
		 O_RDONLY);
	null = open("/dev/null", O_WRONLY | O_APPEND | O_CLOEXEC);
	fl = fcntl(null, F_GETFL);
	CHECK_EQ("F_GETFL of an O_WRONLY|O_APPEND fd",
		 fl & (O_ACCMODE | O_APPEND), O_WRONLY | O_APPEND);

	CHECK_OKV("F_DUPFD with a minimum of 100", fcntl(fd, F_DUPFD, 100),
		  dup);
	CHECK_TRUE("F_DUPFD returns an fd >= the minimum", dup >= 100);
	CHECK_EQ("the F_DUPFD copy has no FD_CLOEXEC", fcntl(dup, F_GETFD), 0);
	close(dup);
	CHECK_OKV("F_DUPFD_CLOEXEC succeeds", fcntl(fd, F_DUPFD_CLOEXEC, 0),
		  dup);
	CHECK_EQ("the F_DUPFD_CLOEXEC copy has FD_CLOEXEC",
		 fcntl(dup, F_GETFD), FD_CLOEXEC);
	close(dup);

	CHECK_ERR("F_DUPFD with a negative minimum gives EINVAL",
		  fcntl(fd, F_DUPFD, -1), EINVAL);
	getrlimit(RLIMIT_NOFILE, &rl);
	CHECK_ERR("F_DUPFD with a minimum >= RLIMIT_NOFILE gives EINVAL",
		  fcntl(fd, F_DUPFD, (long)rl.rlim_cur), EINVAL);
	CHECK_ERR("F_GETFD on a bad fd gives EBADF", fcntl(9999, F_GETFD),
		  EBADF);
	CHECK_ERR("F_GETFL on a closed fd gives EBADF",
		  (close(fd), fcntl(fd, F_GETFL)), EBADF);
	CHECK_ERR("an unknown command gives EINVAL",
		  syscall(SYS_fcntl, null, 9999, 0), EINVAL);

	close(null);
	return done();
}
