/* getrlimit(2), setrlimit(2) and prlimit64(2) on RLIMIT_NOFILE: read,
 * lower the soft limit, read back, and see the new limit enforced. */
#include "tap.h"

#include <sys/resource.h>

int main(void)
{
	struct rlimit rl, got, lower, saved, bad;
	long fd;

	plan(14);

	CHECK("getrlimit(RLIMIT_NOFILE) succeeds",
	      getrlimit(RLIMIT_NOFILE, &rl), 0, 0);
	CHECK_TRUE("soft <= hard", rl.rlim_cur <= rl.rlim_max);
	CHECK_TRUE("the soft limit leaves room for a few fds",
		   rl.rlim_cur >= 64);
	CHECK("prlimit64 reads the same limits",
	      syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &got), 0, 0);
	CHECK_TRUE("prlimit64 agrees with getrlimit",
		   got.rlim_cur == rl.rlim_cur && got.rlim_max == rl.rlim_max);
	saved = rl;

	lower.rlim_cur = 32;
	lower.rlim_max = rl.rlim_max;
	CHECK("setrlimit lowering the soft limit succeeds",
	      setrlimit(RLIMIT_NOFILE, &lower), 0, 0);
	getrlimit(RLIMIT_NOFILE, &got);
	CHECK_TRUE("the lower soft limit reads back",
		   got.rlim_cur == 32 && got.rlim_max == rl.rlim_max);
	CHECK_ERR("dup2 to an fd at the soft limit gives EBADF", dup2(1, 32),
		  EBADF);
	CHECK_ERR("F_DUPFD at the soft limit gives EINVAL",
		  fcntl(1, F_DUPFD, 32), EINVAL);
	CHECK_OKV("dup2 just below the soft limit succeeds", dup2(1, 31), fd);
	close(31);

	bad.rlim_cur = rl.rlim_max;
	bad.rlim_max = 16;
	CHECK_ERR("soft above hard gives EINVAL", setrlimit(RLIMIT_NOFILE, &bad),
		  EINVAL);
	CHECK_ERR("an unknown resource gives EINVAL",
		  syscall(SYS_prlimit64, 0, 999, NULL, &got), EINVAL);
	CHECK_ERR("prlimit64 into a bad pointer gives EFAULT",
		  syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, BAD_PTR),
		  EFAULT);
	CHECK("prlimit64 restores the old limits and returns them",
	      syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &saved, &got), 0, 0);
	return done();
}
