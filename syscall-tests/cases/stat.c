/* fstat(2) and newfstatat(2): file types, flags and the error paths. */
#include "tap.h"

#include <sys/sysmacros.h>

static int same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_mode == b->st_mode && a->st_size == b->st_size;
}

int main(void)
{
	const char *link = find_symlink();
	struct stat st, st2;
	int fd, dfd, null;

	plan(24);

	fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	CHECK("fstat of a regular file succeeds", fstat(fd, &st), 0, 0);
	CHECK_TRUE("it is a regular file", S_ISREG(st.st_mode));
	CHECK_TRUE("its size is positive", st.st_size > 0);
	CHECK_TRUE("it has at least one link", st.st_nlink >= 1);
	CHECK_EQ("st_size equals the end offset", st.st_size,
		 lseek(fd, 0, SEEK_END));
	CHECK("stat of the same path succeeds",
	      syscall(SYS_newfstatat, AT_FDCWD, "/etc/passwd", &st2, 0), 0, 0);
	CHECK_TRUE("fstat and newfstatat agree", same(&st, &st2));

	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fstat(null, &st);
	CHECK_TRUE("/dev/null is a character device", S_ISCHR(st.st_mode));
	CHECK_TRUE("/dev/null is device 1:3",
		   major(st.st_rdev) == 1 && minor(st.st_rdev) == 3);
	stat("/dev/zero", &st);
	CHECK_TRUE("/dev/zero is device 1:5",
		   major(st.st_rdev) == 1 && minor(st.st_rdev) == 5);

	dfd = open("/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fstat(dfd, &st);
	CHECK_TRUE("/etc is a directory", S_ISDIR(st.st_mode));
	CHECK("newfstatat relative to a dirfd succeeds",
	      syscall(SYS_newfstatat, dfd, "passwd", &st2, 0), 0, 0);
	fstat(fd, &st);
	CHECK_TRUE("it finds the same file", same(&st, &st2));
	CHECK("AT_EMPTY_PATH stats the fd itself",
	      syscall(SYS_newfstatat, fd, "", &st2, AT_EMPTY_PATH), 0, 0);
	CHECK_TRUE("AT_EMPTY_PATH agrees with fstat", same(&st, &st2));
	CHECK_ERR("an empty path without AT_EMPTY_PATH gives ENOENT",
		  syscall(SYS_newfstatat, fd, "", &st2, 0), ENOENT);

	if (link) {
		syscall(SYS_newfstatat, AT_FDCWD, link, &st, AT_SYMLINK_NOFOLLOW);
		CHECK_TRUE("AT_SYMLINK_NOFOLLOW stats the link itself",
			   S_ISLNK(st.st_mode));
		syscall(SYS_newfstatat, AT_FDCWD, link, &st, 0);
		CHECK_TRUE("without it the target is stat'ed",
			   !S_ISLNK(st.st_mode));
	} else {
		skip("AT_SYMLINK_NOFOLLOW stats the link itself", "no symlink");
		skip("without it the target is stat'ed", "no symlink");
	}

	CHECK_ERR("a nonexistent path gives ENOENT",
		  syscall(SYS_newfstatat, AT_FDCWD, "/etc/ward-none", &st, 0),
		  ENOENT);
	CHECK_ERR("a path through a file gives ENOTDIR",
		  syscall(SYS_newfstatat, AT_FDCWD, "/etc/passwd/x", &st, 0),
		  ENOTDIR);
	CHECK_ERR("newfstatat with unknown flags gives EINVAL",
		  syscall(SYS_newfstatat, AT_FDCWD, "/etc/passwd", &st,
			  0x40000000), EINVAL);
	CHECK_ERR("a bad path pointer gives EFAULT",
		  syscall(SYS_newfstatat, AT_FDCWD, BAD_PTR, &st, 0), EFAULT);
	CHECK_ERR("fstat into a bad pointer gives EFAULT",
		  syscall(SYS_fstat, fd, BAD_PTR), EFAULT);
	CHECK_ERR("fstat of a bad fd gives EBADF", syscall(SYS_fstat, 9999, &st),
		  EBADF);

	close(fd);
	close(dfd);
	close(null);
	return done();
}
