/* name_to_handle_at and open_by_handle_at: the argument checks Linux makes
 * before any file system is asked (EINVAL for bad flags, the path walk's
 * EFAULT, ENOENT and ENOTDIR, EBADF, EPERM without CAP_DAC_READ_SEARCH,
 * EFAULT and EINVAL for a bad handle), EOPNOTSUPP where a file system has
 * no handles (/proc), and ESTALE for a handle that names nothing. Whether
 * tmpfs issues handles differs (Linux's does, ward's does not), so that
 * point accepts either answer.
 *
 * Uses a fresh file /dev/shm/ward-handles-PID, removed at the end; the
 * unprivileged point runs as nobody in a forked child. */
#include "tap.h"
#include "proc.h"

#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200
#endif
#define AT_HANDLE_CONNECTABLE 0x002

struct handle {
	unsigned int bytes;
	int type;
	unsigned char f[128];
};

static long to_handle(int dirfd, const void *path, struct handle *h,
		      int *mnt, int flags)
{
	h->bytes = sizeof(h->f);
	return syscall(SYS_name_to_handle_at, dirfd, path, h, mnt, flags);
}

static long by_handle(int mount_fd, const void *h, int flags)
{
	return syscall(SYS_open_by_handle_at, mount_fd, h, flags);
}

static void nobody(void *arg)
{
	struct handle *h = arg;

	if (setgid(65534) == -1 || setuid(65534) == -1) {
		s_skip("open_by_handle_at without CAP_DAC_READ_SEARCH is EPERM",
		       "cannot become nobody");
		return;
	}
	S_CHECK_ERR("open_by_handle_at without CAP_DAC_READ_SEARCH is EPERM",
		    by_handle(AT_FDCWD, h, O_RDONLY), EPERM);
}

int main(void)
{
	struct handle h;
	char file[64];
	int mnt, shm, fd;
	long r;

	plan(16);
	snprintf(file, sizeof(file), "/dev/shm/ward-handles-%d", (int)getpid());
	fd = open(file, O_CREAT | O_WRONLY | O_EXCL, 0644);
	need(fd >= 0, "creating a file in /dev/shm");
	close(fd);

	CHECK_ERR("name_to_handle_at with an unknown flag is EINVAL",
		  to_handle(AT_FDCWD, file, &h, &mnt, 0x10000000), EINVAL);
	CHECK_ERR("AT_HANDLE_CONNECTABLE with AT_HANDLE_FID is EINVAL",
		  to_handle(AT_FDCWD, file, &h, &mnt,
			    AT_HANDLE_CONNECTABLE | AT_HANDLE_FID),
		  EINVAL);
	CHECK_ERR("name_to_handle_at of a missing path is ENOENT",
		  to_handle(AT_FDCWD, "/dev/shm/ward-handles-none", &h, &mnt, 0),
		  ENOENT);
	CHECK_ERR("name_to_handle_at of a bad path pointer is EFAULT",
		  to_handle(AT_FDCWD, BAD_PTR, &h, &mnt, 0), EFAULT);
	CHECK_ERR("name_to_handle_at through a file is ENOTDIR",
		  to_handle(AT_FDCWD, "/dev/null/x", &h, &mnt, 0), ENOTDIR);
	CHECK_ERR("name_to_handle_at of \"\" without AT_EMPTY_PATH is ENOENT",
		  to_handle(AT_FDCWD, "", &h, &mnt, 0), ENOENT);
	CHECK_ERR("name_to_handle_at with a bad dirfd is EBADF",
		  to_handle(9999, "x", &h, &mnt, 0), EBADF);
	CHECK_ERR("name_to_handle_at on /proc (no handles) is EOPNOTSUPP",
		  to_handle(AT_FDCWD, "/proc/self/status", &h, &mnt, 0),
		  EOPNOTSUPP);
	errno = 0;
	r = to_handle(AT_FDCWD, file, &h, &mnt, 0);
	okf(r == 0 || errno == EOPNOTSUPP,
	    "name_to_handle_at on tmpfs gives a handle or EOPNOTSUPP",
	    "got %ld errno %s", r, tap_errname(errno));

	CHECK_ERR("open_by_handle_at with a bad mount fd is EBADF",
		  by_handle(9999, &h, O_RDONLY), EBADF);
	CHECK_ERR("open_by_handle_at of a bad handle pointer is EFAULT",
		  by_handle(AT_FDCWD, BAD_PTR, O_RDONLY), EFAULT);
	memset(&h, 0, sizeof(h));
	h.bytes = 0;
	h.type = 1;
	CHECK_ERR("a handle of 0 bytes is EINVAL",
		  by_handle(AT_FDCWD, &h, O_RDONLY), EINVAL);
	h.bytes = 129;
	CHECK_ERR("a handle over MAX_HANDLE_SZ is EINVAL",
		  by_handle(AT_FDCWD, &h, O_RDONLY), EINVAL);
	h.bytes = 8;
	h.type = -1;
	CHECK_ERR("a handle of negative type is EINVAL",
		  by_handle(AT_FDCWD, &h, O_RDONLY), EINVAL);
	h.type = 1;
	shm = open("/dev/shm", O_RDONLY | O_DIRECTORY);
	CHECK_ERR("a handle naming nothing is ESTALE",
		  by_handle(shm, &h, O_RDONLY), ESTALE);
	close(shm);

	if (geteuid() == 0)
		scenario("nobody", 1, nobody, &h);
	else
		skip("open_by_handle_at without CAP_DAC_READ_SEARCH is EPERM",
		     "not root");
	unlink(file);
	return done();
}
