/* getcwd(2): the raw syscall's length, ERANGE, EFAULT, and that the name
 * it returns is the directory the program started in. */
#include "tap.h"

#include <limits.h>

int main(void)
{
	char buf[PATH_MAX], tiny[1];
	struct stat here, there;
	long len;

	plan(8);

	memset(buf, 0, sizeof(buf));
	CHECK_OKV("getcwd succeeds", syscall(SYS_getcwd, buf, sizeof(buf)),
		  len);
	CHECK_EQ("it returns the length including the NUL", len,
		 strlen(buf) + 1);
	CHECK_TRUE("the path is absolute", buf[0] == '/');
	stat(".", &here);
	CHECK("the path can be stat'ed", stat(buf, &there), 0, 0);
	CHECK_TRUE("it names the working directory (dev/ino equal)",
		   here.st_dev == there.st_dev && here.st_ino == there.st_ino);
	CHECK_ERR("a one-byte buffer gives ERANGE",
		  syscall(SYS_getcwd, tiny, sizeof(tiny)), ERANGE);
	CHECK_ERR("a zero-sized buffer gives ERANGE",
		  syscall(SYS_getcwd, buf, 0), ERANGE);
	CHECK_ERR("a bad buffer gives EFAULT",
		  syscall(SYS_getcwd, BAD_PTR, sizeof(buf)), EFAULT);
	return done();
}
