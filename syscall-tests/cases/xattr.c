/* Extended attributes: user.* set, get, list and remove on a file and a
 * directory (path, l and f forms); size-0 probes, ERANGE for a small
 * buffer, ENODATA when missing, XATTR_CREATE/XATTR_REPLACE, E2BIG past
 * 64 KiB, EOPNOTSUPP for an unknown namespace, ENODATA reading security.*.
 * Works in a fresh directory under /tmp; skips when /tmp refuses user
 * xattrs (EOPNOTSUPP). */
#include "tap.h"

#include <sys/syscall.h>
#include <sys/xattr.h>

static char base[64];

static const char *at(const char *name)
{
	static char bufs[4][128];
	static int next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", base, name);
	return b;
}

#define N 22

int main(void)
{
	char buf[128], *big;
	const char *f;
	int fd, i;
	ssize_t n;

	plan(N);
	snprintf(base, sizeof(base), "/tmp/ward-xattr-%d", (int)getpid());
	need(mkdir(base, 0700) == 0, "a fresh directory");
	f = at("f");
	fd = open(f, O_RDWR | O_CREAT, 0600);
	need(fd >= 0, "a file");
	if (setxattr(f, "user.probe", "1", 1, 0) == -1 && errno == EOPNOTSUPP) {
		for (i = 0; i < N; i++)
			skip("xattr point", "/tmp refuses user xattrs");
		goto out;
	}
	removexattr(f, "user.probe");

	CHECK_ERR("getxattr of a missing name is ENODATA", getxattr(f, "user.a", buf, sizeof(buf)), ENODATA);
	CHECK_EQ("a fresh file lists nothing", listxattr(f, buf, sizeof(buf)), 0);
	CHECK_OK("setxattr user.a", setxattr(f, "user.a", "value-a", 7, 0));
	CHECK_EQ("a size-0 getxattr gives the length", getxattr(f, "user.a", NULL, 0), 7);
	n = getxattr(f, "user.a", buf, sizeof(buf));
	CHECK_TRUE("getxattr reads the value", n == 7 && memcmp(buf, "value-a", 7) == 0);
	CHECK_ERR("a small buffer is ERANGE", getxattr(f, "user.a", buf, 3), ERANGE);
	CHECK_ERR("XATTR_CREATE of an existing name is EEXIST",
		  setxattr(f, "user.a", "x", 1, XATTR_CREATE), EEXIST);
	CHECK_ERR("XATTR_REPLACE of a missing name is ENODATA",
		  setxattr(f, "user.b", "x", 1, XATTR_REPLACE), ENODATA);
	CHECK_OK("XATTR_REPLACE of an existing name", setxattr(f, "user.a", "new", 3, XATTR_REPLACE));
	CHECK_OK("fsetxattr user.b (empty value)", fsetxattr(fd, "user.b", "", 0, XATTR_CREATE));
	CHECK_EQ("fgetxattr of an empty value is 0", fgetxattr(fd, "user.b", buf, sizeof(buf)), 0);
	CHECK_EQ("a size-0 listxattr gives the length", listxattr(f, NULL, 0), 14);
	n = flistxattr(fd, buf, sizeof(buf));
	CHECK_TRUE("flistxattr lists both names",
		   n == 14 && ((memcmp(buf, "user.a\0user.b\0", 14) == 0) ||
			       (memcmp(buf, "user.b\0user.a\0", 14) == 0)));
	CHECK_ERR("a small list buffer is ERANGE", listxattr(f, buf, 5), ERANGE);
	CHECK_OK("removexattr user.a", removexattr(f, "user.a"));
	CHECK_ERR("removing it again is ENODATA", removexattr(f, "user.a"), ENODATA);
	CHECK_OK("lsetxattr on a directory", lsetxattr(base, "user.d", "dir", 3, 0));
	CHECK_EQ("lgetxattr on a directory", lgetxattr(base, "user.d", buf, sizeof(buf)), 3);
	big = calloc(1, 65537);
	CHECK_ERR("a value over 64 KiB is E2BIG", setxattr(f, "user.big", big, 65537, 0), E2BIG);
	free(big);
	CHECK_ERR("an unknown namespace is EOPNOTSUPP", setxattr(f, "bogus.a", "x", 1, 0), EOPNOTSUPP);
	CHECK_ERR("reading a missing security.* name is ENODATA",
		  getxattr(f, "security.ward", buf, sizeof(buf)), ENODATA);
	CHECK_ERR("an empty name is ERANGE", getxattr(f, "", buf, sizeof(buf)), ERANGE);
out:
	close(fd);
	unlink(f);
	rmdir(base);
	return done();
}
