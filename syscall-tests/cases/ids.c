/* Process and credential ids: getpid, gettid, getppid, get[e]uid,
 * get[e]gid, getres[ug]id and getgroups. */
#include "tap.h"

#include <grp.h>

int main(void)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	gid_t groups[256];
	long n;

	plan(16);

	CHECK_TRUE("getpid is positive", getpid() > 0);
	CHECK_EQ("getpid is stable", getpid(), syscall(SYS_getpid));
	CHECK_EQ("gettid equals getpid in a single-threaded process",
		 syscall(SYS_gettid), getpid());
	CHECK_TRUE("getppid does not fail", syscall(SYS_getppid) >= 0);
	CHECK_EQ("getppid is stable", getppid(), syscall(SYS_getppid));
	CHECK_EQ("getuid equals geteuid", getuid(), geteuid());
	CHECK_EQ("getgid equals getegid", getgid(), getegid());
	CHECK("getresuid succeeds", getresuid(&r, &e, &s), 0, 0);
	CHECK_TRUE("getresuid agrees with getuid/geteuid",
		   r == getuid() && e == geteuid() && s == e);
	CHECK("getresgid succeeds", getresgid(&rg, &eg, &sg), 0, 0);
	CHECK_TRUE("getresgid agrees with getgid/getegid",
		   rg == getgid() && eg == getegid() && sg == eg);

	CHECK_OKV("getgroups with size 0 returns the count",
		  syscall(SYS_getgroups, 0, NULL), n);
	CHECK("getgroups with room returns the same count",
	      syscall(SYS_getgroups, 256, groups), n, 0);
	if (n >= 2)
		CHECK_ERR("getgroups with too small a list gives EINVAL",
			  syscall(SYS_getgroups, n - 1, groups), EINVAL);
	else
		skip("getgroups with too small a list gives EINVAL",
		     "fewer than two supplementary groups");
	CHECK_ERR("getgroups with a negative size gives EINVAL",
		  syscall(SYS_getgroups, -1, groups), EINVAL);
	if (n >= 1)
		CHECK_ERR("getgroups into a bad pointer gives EFAULT",
			  syscall(SYS_getgroups, n, BAD_PTR), EFAULT);
	else
		skip("getgroups into a bad pointer gives EFAULT",
		     "no supplementary groups");
	return done();
}
