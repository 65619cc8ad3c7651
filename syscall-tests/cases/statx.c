/* statx(2): the returned mask, AT_EMPTY_PATH, and agreement with fstat. */
#include "tap.h"

#include <sys/sysmacros.h>

int main(void)
{
	const char *link = find_symlink();
	struct statx sx;
	struct stat st;
	int fd;

	plan(15);

	fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	fstat(fd, &st);
	memset(&sx, 0, sizeof(sx));
	CHECK("statx of /etc/passwd succeeds",
	      syscall(SYS_statx, AT_FDCWD, "/etc/passwd", 0,
		      STATX_BASIC_STATS, &sx), 0, 0);
	CHECK_TRUE("stx_mask has type, mode, size and ino",
		   (sx.stx_mask & (STATX_TYPE | STATX_MODE | STATX_SIZE |
				   STATX_INO)) ==
			   (STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_INO));
	CHECK_EQ("stx_size matches fstat", sx.stx_size, st.st_size);
	CHECK_EQ("stx_ino matches fstat", sx.stx_ino, st.st_ino);
	CHECK_EQ("stx_mode matches fstat", sx.stx_mode, st.st_mode);
	CHECK_TRUE("stx_dev matches fstat",
		   makedev(sx.stx_dev_major, sx.stx_dev_minor) == st.st_dev);
	CHECK_EQ("stx_nlink matches fstat", sx.stx_nlink, st.st_nlink);

	memset(&sx, 0, sizeof(sx));
	CHECK("AT_EMPTY_PATH stats the fd",
	      syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx), 0,
	      0);
	CHECK_EQ("its stx_size matches fstat", sx.stx_size, st.st_size);
	CHECK_ERR("an empty path without AT_EMPTY_PATH gives ENOENT",
		  syscall(SYS_statx, fd, "", 0, STATX_SIZE, &sx), ENOENT);

	if (link) {
		syscall(SYS_statx, AT_FDCWD, link, AT_SYMLINK_NOFOLLOW,
			STATX_TYPE, &sx);
		CHECK_TRUE("AT_SYMLINK_NOFOLLOW reports a symlink",
			   S_ISLNK(sx.stx_mode));
	} else {
		skip("AT_SYMLINK_NOFOLLOW reports a symlink", "no symlink");
	}

	CHECK_ERR("a reserved mask bit gives EINVAL",
		  syscall(SYS_statx, AT_FDCWD, "/etc/passwd", 0,
			  STATX__RESERVED, &sx), EINVAL);
	CHECK_ERR("unknown flags give EINVAL",
		  syscall(SYS_statx, AT_FDCWD, "/etc/passwd", 0x40000000,
			  STATX_BASIC_STATS, &sx), EINVAL);
	CHECK_ERR("a bad buffer gives EFAULT",
		  syscall(SYS_statx, AT_FDCWD, "/etc/passwd", 0,
			  STATX_BASIC_STATS, BAD_PTR), EFAULT);
	CHECK_ERR("a nonexistent path gives ENOENT",
		  syscall(SYS_statx, AT_FDCWD, "/etc/ward-none", 0,
			  STATX_BASIC_STATS, &sx), ENOENT);

	close(fd);
	return done();
}
