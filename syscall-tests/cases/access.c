/* faccessat(2) and faccessat2(2): F_OK/R_OK/X_OK, flags, and error paths. */
#include "tap.h"

int main(void)
{
	const char *link = find_symlink();
	int fd, dfd;

	plan(18);

	CHECK("F_OK on an existing file",
	      syscall(SYS_faccessat, AT_FDCWD, "/etc/passwd", F_OK), 0, 0);
	CHECK("R_OK on a world-readable file",
	      syscall(SYS_faccessat, AT_FDCWD, "/etc/passwd", R_OK), 0, 0);
	CHECK_ERR("X_OK on a file with no execute bit gives EACCES",
		  syscall(SYS_faccessat, AT_FDCWD, "/etc/passwd", X_OK),
		  EACCES);
	CHECK("X_OK on /bin/sh",
	      syscall(SYS_faccessat, AT_FDCWD, "/bin/sh", X_OK), 0, 0);
	CHECK("X_OK on a directory",
	      syscall(SYS_faccessat, AT_FDCWD, "/etc", X_OK), 0, 0);
	CHECK_ERR("F_OK on a nonexistent file gives ENOENT",
		  syscall(SYS_faccessat, AT_FDCWD, "/etc/ward-none", F_OK),
		  ENOENT);
	CHECK_ERR("a path through a file gives ENOTDIR",
		  syscall(SYS_faccessat, AT_FDCWD, "/etc/passwd/x", F_OK),
		  ENOTDIR);
	CHECK_ERR("a bad path pointer gives EFAULT",
		  syscall(SYS_faccessat, AT_FDCWD, BAD_PTR, F_OK), EFAULT);
	CHECK_ERR("a bad mode gives EINVAL",
		  syscall(SYS_faccessat, AT_FDCWD, "/etc/passwd", 0x100),
		  EINVAL);
	dfd = open("/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK("relative to a dirfd",
	      syscall(SYS_faccessat, dfd, "passwd", R_OK), 0, 0);

	CHECK("faccessat2 with no flags",
	      syscall(SYS_faccessat2, AT_FDCWD, "/etc/passwd", R_OK, 0), 0, 0);
	CHECK("faccessat2 with AT_EACCESS",
	      syscall(SYS_faccessat2, AT_FDCWD, "/etc/passwd", R_OK,
		      AT_EACCESS), 0, 0);
	CHECK_ERR("faccessat2 AT_EACCESS X_OK on a non-executable gives EACCES",
		  syscall(SYS_faccessat2, AT_FDCWD, "/etc/passwd", X_OK,
			  AT_EACCESS), EACCES);
	CHECK_ERR("faccessat2 with bad flags gives EINVAL",
		  syscall(SYS_faccessat2, AT_FDCWD, "/etc/passwd", R_OK, 0x1),
		  EINVAL);
	CHECK_ERR("faccessat2 with a bad mode gives EINVAL",
		  syscall(SYS_faccessat2, AT_FDCWD, "/etc/passwd", 0x100, 0),
		  EINVAL);
	fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	CHECK("faccessat2 with AT_EMPTY_PATH checks the fd",
	      syscall(SYS_faccessat2, fd, "", R_OK, AT_EMPTY_PATH), 0, 0);
	CHECK_ERR("an empty path without AT_EMPTY_PATH gives ENOENT",
		  syscall(SYS_faccessat2, fd, "", R_OK, 0), ENOENT);
	if (link)
		CHECK("faccessat2 with AT_SYMLINK_NOFOLLOW on a symlink",
		      syscall(SYS_faccessat2, AT_FDCWD, link, F_OK,
			      AT_SYMLINK_NOFOLLOW), 0, 0);
	else
		skip("faccessat2 with AT_SYMLINK_NOFOLLOW on a symlink",
		     "no symlink found");

	close(fd);
	close(dfd);
	return done();
}
