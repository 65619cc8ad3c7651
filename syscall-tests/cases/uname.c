/* uname(2): a Linux x86_64 kernel of a current release. */
#include "tap.h"

#include <sys/utsname.h>

int main(void)
{
	struct utsname u;
	int major = 0, minor = 0, fields;

	plan(7);

	memset(&u, 0, sizeof(u));
	CHECK("uname succeeds", uname(&u), 0, 0);
	okf(strcmp(u.sysname, "Linux") == 0, "sysname is Linux", "got \"%s\"",
	    u.sysname);
	okf(strcmp(u.machine, "x86_64") == 0, "machine is x86_64",
	    "got \"%s\"", u.machine);
	fields = sscanf(u.release, "%d.%d", &major, &minor);
	okf(fields == 2, "release parses as MAJOR.MINOR", "got \"%s\"",
	    u.release);
	okf(major > 5 || (major == 5 && minor >= 10), "release is >= 5.10",
	    "got \"%s\"", u.release);
	CHECK_TRUE("version is not empty", u.version[0] != '\0');
	CHECK_ERR("a bad pointer gives EFAULT", syscall(SYS_uname, BAD_PTR),
		  EFAULT);
	return done();
}
