/* getdents64(2): listing /etc agrees with readdir(3), and the error paths. */
#include "tap.h"

#include <dirent.h>

#define MAX_NAMES 4096

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static char *raw[MAX_NAMES], *lib[MAX_NAMES];

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists fd with getdents64 through a buffer of bufsize bytes; returns the
 * count of names, or -1 on error. Sets *passwd_type to the d_type of
 * "passwd". */
static int list_raw(int fd, size_t bufsize, unsigned char *passwd_type)
{
	static char buf[65536];
	int n = 0;
	long got, pos;

	for (;;) {
		got = syscall(SYS_getdents64, fd, buf, bufsize);
		if (got < 0)
			return -1;
		if (got == 0)
			return n;
		for (pos = 0; pos < got;) {
			struct linux_dirent64 *d = (void *)(buf + pos);

			/* A malformed record would loop forever. */
			if (d->d_reclen == 0 || pos + d->d_reclen > got)
				return -1;
			if (n < MAX_NAMES)
				raw[n++] = strdup(d->d_name);
			if (strcmp(d->d_name, "passwd") == 0)
				*passwd_type = d->d_type;
			pos += d->d_reclen;
		}
	}
}

int main(void)
{
	unsigned char passwd_type = 0xff;
	char buf[512];
	int fd, file, n, m, i, same, dot = 0, dotdot = 0, n2;
	DIR *dir;
	struct dirent *de;

	plan(13);

	fd = open("/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	n = list_raw(fd, 65536, &passwd_type);
	CHECK_TRUE("getdents64 lists /etc", n > 0);
	for (i = 0; i < n; i++) {
		dot |= strcmp(raw[i], ".") == 0;
		dotdot |= strcmp(raw[i], "..") == 0;
	}
	CHECK_TRUE("the listing has \".\" and \"..\"", dot && dotdot);
	CHECK_TRUE("passwd is DT_REG (or DT_UNKNOWN)",
		   passwd_type == DT_REG || passwd_type == DT_UNKNOWN);
	CHECK("at the end getdents64 returns 0",
	      syscall(SYS_getdents64, fd, buf, sizeof(buf)), 0, 0);

	dir = opendir("/etc");
	m = 0;
	while (dir && (de = readdir(dir)) != NULL && m < MAX_NAMES)
		lib[m++] = strdup(de->d_name);
	if (dir)
		closedir(dir);
	CHECK_EQ("readdir sees as many names", m, n);
	qsort(raw, n, sizeof(raw[0]), cmp);
	qsort(lib, m, sizeof(lib[0]), cmp);
	same = m == n;
	for (i = 0; same && i < n; i++)
		same = strcmp(raw[i], lib[i]) == 0;
	CHECK_TRUE("the set of names equals what readdir gives", same);
	for (i = 1; i < n; i++)
		if (strcmp(raw[i - 1], raw[i]) == 0)
			break;
	CHECK_TRUE("no name is listed twice", i >= n);

	CHECK("lseek to 0 rewinds the directory", lseek(fd, 0, SEEK_SET), 0,
	      0);
	n2 = list_raw(fd, 1024, &passwd_type);
	CHECK_EQ("a small buffer lists the same number of names", n2, n);

	CHECK_ERR("a too-small buffer gives EINVAL",
		  (lseek(fd, 0, SEEK_SET), syscall(SYS_getdents64, fd, buf, 1)),
		  EINVAL);
	CHECK_ERR("a bad buffer pointer gives EFAULT",
		  syscall(SYS_getdents64, fd, BAD_PTR, 4096), EFAULT);
	file = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	CHECK_ERR("getdents64 on a file gives ENOTDIR",
		  syscall(SYS_getdents64, file, buf, sizeof(buf)), ENOTDIR);
	CHECK_ERR("getdents64 on a bad fd gives EBADF",
		  syscall(SYS_getdents64, 9999, buf, sizeof(buf)), EBADF);

	close(fd);
	close(file);
	return done();
}
