/* openat(2): opening files read-only, flags, dirfds and the error paths. */
#include "tap.h"

#include <limits.h>

static int same_file(int fd, const char *path)
{
	struct stat a, b;

	if (fstat(fd, &a) != 0 || stat(path, &b) != 0)
		return 0;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int main(void)
{
	const char *link = find_symlink();
	char longname[NAME_MAX + 2];
	static char longpath[PATH_MAX + 16];
	long fd, dfd;

	plan(24);

	CHECK_OKV("O_RDONLY on /etc/passwd succeeds",
		  syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY), fd);
	CHECK_TRUE("the fd refers to /etc/passwd", same_file(fd, "/etc/passwd"));
	CHECK_EQ("a fresh fd has no FD_CLOEXEC", fcntl(fd, F_GETFD), 0);
	close(fd);

	CHECK_OKV("O_CLOEXEC open succeeds",
		  syscall(SYS_openat, AT_FDCWD, "/etc/passwd",
			  O_RDONLY | O_CLOEXEC), fd);
	CHECK_EQ("O_CLOEXEC is visible via F_GETFD", fcntl(fd, F_GETFD),
		 FD_CLOEXEC);
	close(fd);

	CHECK_OKV("O_DIRECTORY on /etc succeeds",
		  syscall(SYS_openat, AT_FDCWD, "/etc", O_RDONLY | O_DIRECTORY),
		  dfd);
	CHECK_OKV("relative to a dirfd", syscall(SYS_openat, (int)dfd,
						 "passwd", O_RDONLY), fd);
	CHECK_TRUE("dirfd-relative open finds /etc/passwd",
		   same_file(fd, "/etc/passwd"));
	CHECK_ERR("relative to a file fd gives ENOTDIR",
		  syscall(SYS_openat, (int)fd, "x", O_RDONLY), ENOTDIR);
	CHECK_OK("an absolute path ignores a bad dirfd",
		 syscall(SYS_openat, 9999, "/etc/passwd", O_RDONLY | O_CLOEXEC));
	CHECK_ERR("a relative path with a bad dirfd gives EBADF",
		  syscall(SYS_openat, 9999, "passwd", O_RDONLY), EBADF);
	close(fd);
	close(dfd);

	CHECK_OKV("AT_FDCWD with \".\" opens the working directory",
		  syscall(SYS_openat, AT_FDCWD, ".", O_RDONLY | O_DIRECTORY),
		  fd);
	CHECK_TRUE("\".\" is the working directory", same_file(fd, "."));
	close(fd);

	CHECK_ERR("O_DIRECTORY on a file gives ENOTDIR",
		  syscall(SYS_openat, AT_FDCWD, "/etc/passwd",
			  O_RDONLY | O_DIRECTORY), ENOTDIR);
	CHECK_ERR("a nonexistent file gives ENOENT",
		  syscall(SYS_openat, AT_FDCWD, "/etc/ward-no-such-file",
			  O_RDONLY), ENOENT);
	CHECK_ERR("a path through a file gives ENOTDIR",
		  syscall(SYS_openat, AT_FDCWD, "/etc/passwd/x", O_RDONLY),
		  ENOTDIR);
	CHECK_ERR("a bad path pointer gives EFAULT",
		  syscall(SYS_openat, AT_FDCWD, BAD_PTR, O_RDONLY), EFAULT);
	CHECK_ERR("an empty path gives ENOENT",
		  syscall(SYS_openat, AT_FDCWD, "", O_RDONLY), ENOENT);

	if (link)
		CHECK_ERR("O_NOFOLLOW on a symlink gives ELOOP",
			  syscall(SYS_openat, AT_FDCWD, link,
				  O_RDONLY | O_NOFOLLOW), ELOOP);
	else
		skip("O_NOFOLLOW on a symlink gives ELOOP", "no symlink found");

	CHECK_ERR("opening a directory for writing gives EISDIR",
		  syscall(SYS_openat, AT_FDCWD, "/etc", O_WRONLY), EISDIR);
	CHECK_ERR("O_CREAT|O_EXCL on an existing file gives EEXIST",
		  syscall(SYS_openat, AT_FDCWD, "/etc/passwd",
			  O_RDONLY | O_CREAT | O_EXCL, 0600), EEXIST);

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_ERR("a component longer than NAME_MAX gives ENAMETOOLONG",
		  syscall(SYS_openat, AT_FDCWD, longname, O_RDONLY),
		  ENAMETOOLONG);

	memset(longpath, '/', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	CHECK_ERR("a path longer than PATH_MAX gives ENAMETOOLONG",
		  syscall(SYS_openat, AT_FDCWD, longpath, O_RDONLY),
		  ENAMETOOLONG);

	CHECK_OKV("O_WRONLY on /dev/null succeeds",
		  syscall(SYS_openat, AT_FDCWD, "/dev/null", O_WRONLY), fd);
	close(fd);

	return done();
}
