/* openat2(2): struct open_how copied in by the extensible-struct rules
 * (EINVAL below 24 bytes, E2BIG beyond a page or with nonzero trailing
 * bytes, EFAULT); the strict checks of flags, mode and resolve; O_CREAT;
 * and each RESOLVE_* flag's success and error paths.
 *
 * Files live in a fresh directory /tmp/ward-openat2-PID (the dirfd):
 *   file             a regular file
 *   sub/inner        a file one level down
 *   sub/rel -> ../file     a relative symlink that stays inside
 *   sub/abs -> /file       an absolute symlink (inside only under IN_ROOT)
 *   up -> ../..            a relative symlink that climbs out
 *   inlink -> sub/inner    a plain symlink
 *   toproc -> /proc        an absolute symlink onto another mount */
#include "tap.h"

#include <stdint.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define R_NO_XDEV 0x01
#define R_NO_MAGICLINKS 0x02
#define R_NO_SYMLINKS 0x04
#define R_BENEATH 0x08
#define R_IN_ROOT 0x10
#define R_CACHED 0x20

struct how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};

static char base[64];

static const char *at(const char *name)
{
	static char bufs[4][128];
	static int next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", base, name);
	return b;
}

static long o2(int dfd, const char *path, uint64_t flags, uint64_t mode,
	       uint64_t resolve)
{
	struct how h = { flags, mode, resolve };
	long r;
	int tries = 0;

	/* Linux answers EAGAIN to a ".." walked under BENEATH or IN_ROOT when
	 * any rename or mount happened meanwhile anywhere (other tests run in
	 * parallel); openat2(2) says to retry. RESOLVE_CACHED's EAGAIN is an
	 * answer, not a race. */
	do
		r = syscall(SYS_openat2, dfd, path, &h, sizeof(h));
	while (r < 0 && errno == EAGAIN && !(resolve & R_CACHED) && ++tries < 1000);
	return r;
}

/* Whether fd is open on the file at path; closes fd. */
static int is_file(long fd, const char *path)
{
	struct stat a, b;
	int same;

	if (fd < 0)
		return 0;
	same = fstat((int)fd, &a) == 0 && stat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	close((int)fd);
	return same;
}

static int setup(void)
{
	int fd;

	snprintf(base, sizeof(base), "/tmp/ward-openat2-%d", (int)getpid());
	if (mkdir(base, 0755) == -1 || mkdir(at("sub"), 0755) == -1)
		return -1;
	fd = open(at("file"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || close(fd))
		return -1;
	fd = open(at("sub/inner"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || close(fd))
		return -1;
	if (symlink("../file", at("sub/rel")) || symlink("/file", at("sub/abs")) ||
	    symlink("../..", at("up")) || symlink("sub/inner", at("inlink")) ||
	    symlink("/proc", at("toproc")))
		return -1;
	return 0;
}

static void cleanup(void)
{
	const char *names[] = { "sub/inner", "sub/rel", "sub/abs", "up",
				"inlink", "toproc", "file", "created" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(at(names[i]));
	rmdir(at("sub"));
	rmdir(base);
}

int main(void)
{
	static char big[8192];
	struct how *h = (struct how *)big;
	struct stat st;
	char magic[64];
	long fd, dfd, rootfd, procfd, fdsdir;
	int target;

	plan(51);
	umask(022);
	need(setup() == 0, "setup");
	dfd = open(base, O_RDONLY | O_DIRECTORY);
	need(dfd >= 0, "open base");

	/* struct open_how copy-in. */
	h->flags = O_RDONLY;
	CHECK_OKV("a 24-byte open_how opens a file",
		  syscall(SYS_openat2, (int)dfd, "file", h, 24), fd);
	CHECK_TRUE("the fd is that file", is_file(fd, at("file")));
	CHECK_ERR("a size below 24 gives EINVAL",
		  syscall(SYS_openat2, (int)dfd, "file", h, 23), EINVAL);
	CHECK_ERR("size 0 gives EINVAL",
		  syscall(SYS_openat2, (int)dfd, "file", h, 0), EINVAL);
	CHECK_OKV("a larger struct with zero trailing bytes opens",
		  syscall(SYS_openat2, (int)dfd, "file", h, 64), fd);
	close((int)fd);
	big[40] = 1;
	CHECK_ERR("a nonzero trailing byte gives E2BIG",
		  syscall(SYS_openat2, (int)dfd, "file", h, 64), E2BIG);
	big[40] = 0;
	CHECK_ERR("a size beyond a page gives E2BIG",
		  syscall(SYS_openat2, (int)dfd, "file", h, 4097), E2BIG);
	CHECK_ERR("a bad open_how pointer gives EFAULT",
		  syscall(SYS_openat2, (int)dfd, "file", BAD_PTR, 24), EFAULT);
	CHECK_ERR("a bad path pointer gives EFAULT",
		  o2((int)dfd, BAD_PTR, O_RDONLY, 0, 0), EFAULT);
	CHECK_ERR("a relative path with a bad dirfd gives EBADF",
		  o2(9999, "file", O_RDONLY, 0, 0), EBADF);

	/* Strict flags, mode and resolve. */
	CHECK_ERR("an unknown flag in the upper 32 bits gives EINVAL",
		  o2((int)dfd, "file", 1ULL << 40, 0, 0), EINVAL);
	CHECK_ERR("an unknown low flag bit gives EINVAL",
		  o2((int)dfd, "file", 04, 0, 0), EINVAL);
	CHECK_ERR("a mode without O_CREAT gives EINVAL",
		  o2((int)dfd, "file", O_RDONLY, 0644, 0), EINVAL);
	CHECK_ERR("a mode beyond 07777 gives EINVAL",
		  o2((int)dfd, "created", O_WRONLY | O_CREAT, S_IFREG | 0644, 0),
		  EINVAL);
	CHECK_ERR("an unknown resolve bit gives EINVAL",
		  o2((int)dfd, "file", O_RDONLY, 0, 0x1000), EINVAL);
	CHECK_ERR("RESOLVE_BENEATH with RESOLVE_IN_ROOT gives EINVAL",
		  o2((int)dfd, "file", O_RDONLY, 0, R_BENEATH | R_IN_ROOT),
		  EINVAL);
	CHECK_ERR("O_PATH with O_RDWR gives EINVAL",
		  o2((int)dfd, "file", O_PATH | O_RDWR, 0, 0), EINVAL);
	CHECK_ERR("O_CREAT with O_DIRECTORY gives EINVAL",
		  o2((int)dfd, "created", O_CREAT | O_DIRECTORY, 0644, 0),
		  EINVAL);

	/* O_CREAT. */
	CHECK_OKV("O_CREAT makes a file",
		  o2((int)dfd, "created", O_WRONLY | O_CREAT | O_CLOEXEC, 0640,
		     R_BENEATH), fd);
	CHECK_TRUE("it has the mode asked for (less the umask)",
		   fstat((int)fd, &st) == 0 && (st.st_mode & 07777) == 0640);
	CHECK_EQ("O_CLOEXEC is set", fcntl((int)fd, F_GETFD), FD_CLOEXEC);
	close((int)fd);
	CHECK_ERR("O_CREAT|O_EXCL on it again gives EEXIST",
		  o2((int)dfd, "created", O_WRONLY | O_CREAT | O_EXCL, 0640, 0),
		  EEXIST);

	/* RESOLVE_BENEATH. */
	CHECK_TRUE("BENEATH: a path below dirfd opens",
		   is_file(o2((int)dfd, "sub/inner", O_RDONLY, 0, R_BENEATH),
			   at("sub/inner")));
	CHECK_TRUE("BENEATH: a relative symlink staying inside opens",
		   is_file(o2((int)dfd, "sub/rel", O_RDONLY, 0, R_BENEATH),
			   at("file")));
	CHECK_TRUE("BENEATH: \"sub/..\" is dirfd itself",
		   is_file(o2((int)dfd, "sub/..", O_RDONLY, 0, R_BENEATH), base));
	CHECK_ERR("BENEATH: an absolute path gives EXDEV",
		  o2((int)dfd, "/etc/passwd", O_RDONLY, 0, R_BENEATH), EXDEV);
	CHECK_ERR("BENEATH: an absolute symlink gives EXDEV",
		  o2((int)dfd, "sub/abs", O_RDONLY, 0, R_BENEATH), EXDEV);
	CHECK_ERR("BENEATH: \"..\" at dirfd gives EXDEV",
		  o2((int)dfd, "..", O_RDONLY, 0, R_BENEATH), EXDEV);
	CHECK_ERR("BENEATH: \"sub/../..\" gives EXDEV",
		  o2((int)dfd, "sub/../..", O_RDONLY, 0, R_BENEATH), EXDEV);
	CHECK_ERR("BENEATH: a symlink climbing out gives EXDEV",
		  o2((int)dfd, "up", O_RDONLY, 0, R_BENEATH), EXDEV);

	/* RESOLVE_IN_ROOT. */
	CHECK_TRUE("IN_ROOT: an absolute symlink resolves inside dirfd",
		   is_file(o2((int)dfd, "sub/abs", O_RDONLY, 0, R_IN_ROOT),
			   at("file")));
	CHECK_TRUE("IN_ROOT: an absolute path resolves inside dirfd",
		   is_file(o2((int)dfd, "/sub/inner", O_RDONLY, 0, R_IN_ROOT),
			   at("sub/inner")));
	CHECK_TRUE("IN_ROOT: \"..\" at dirfd stays there",
		   is_file(o2((int)dfd, "../../file", O_RDONLY, 0, R_IN_ROOT),
			   at("file")));
	CHECK_TRUE("IN_ROOT: a symlink climbing out stays inside",
		   is_file(o2((int)dfd, "up/sub/inner", O_RDONLY, 0, R_IN_ROOT),
			   at("sub/inner")));
	CHECK_ERR("IN_ROOT: /etc/passwd is not found inside dirfd",
		  o2((int)dfd, "/etc/passwd", O_RDONLY, 0, R_IN_ROOT), ENOENT);

	/* RESOLVE_NO_SYMLINKS. */
	CHECK_TRUE("NO_SYMLINKS: a path without symlinks opens",
		   is_file(o2((int)dfd, "sub/inner", O_RDONLY, 0, R_NO_SYMLINKS),
			   at("sub/inner")));
	CHECK_ERR("NO_SYMLINKS: a final symlink gives ELOOP",
		  o2((int)dfd, "inlink", O_RDONLY, 0, R_NO_SYMLINKS), ELOOP);
	CHECK_ERR("NO_SYMLINKS: a symlink mid-path gives ELOOP",
		  o2((int)dfd, "up/tmp", O_RDONLY, 0, R_NO_SYMLINKS), ELOOP);
	CHECK_OK("NO_SYMLINKS: O_PATH|O_NOFOLLOW opens the symlink itself",
		 o2((int)dfd, "inlink", O_PATH | O_NOFOLLOW | O_CLOEXEC, 0,
		    R_NO_SYMLINKS));

	/* RESOLVE_NO_XDEV. */
	rootfd = open("/", O_RDONLY | O_DIRECTORY);
	procfd = open("/proc", O_RDONLY | O_DIRECTORY);
	need(rootfd >= 0 && procfd >= 0, "open / and /proc");
	CHECK_TRUE("NO_XDEV: a walk within one mount opens",
		   is_file(o2((int)dfd, "sub/inner", O_RDONLY, 0, R_NO_XDEV),
			   at("sub/inner")));
	CHECK_ERR("NO_XDEV: from / down into /proc gives EXDEV",
		  o2((int)rootfd, "proc", O_RDONLY, 0, R_NO_XDEV), EXDEV);
	CHECK_ERR("NO_XDEV: \"..\" up out of /proc gives EXDEV",
		  o2((int)procfd, "..", O_RDONLY, 0, R_NO_XDEV), EXDEV);
	CHECK_ERR("NO_XDEV: a symlink onto /proc gives EXDEV",
		  o2((int)dfd, "toproc", O_RDONLY, 0, R_NO_XDEV), EXDEV);
	CHECK_OK("NO_XDEV: a file in /proc from /proc opens",
		 o2((int)procfd, "version", O_RDONLY | O_CLOEXEC, 0, R_NO_XDEV));

	/* RESOLVE_NO_MAGICLINKS. */
	target = open(at("file"), O_RDONLY);
	need(target >= 0, "open file");
	snprintf(magic, sizeof(magic), "/proc/self/fd/%d", target);
	CHECK_TRUE("a magic link opens without restrictions",
		   is_file(o2(AT_FDCWD, magic, O_RDONLY, 0, 0), at("file")));
	CHECK_ERR("NO_MAGICLINKS: /proc/self/fd/N gives ELOOP",
		  o2(AT_FDCWD, magic, O_RDONLY, 0, R_NO_MAGICLINKS), ELOOP);
	CHECK_OK("NO_MAGICLINKS: O_PATH|O_NOFOLLOW opens the link itself",
		 o2(AT_FDCWD, magic, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0,
		    R_NO_MAGICLINKS));
	CHECK_ERR("NO_SYMLINKS: /proc/self/fd/N gives ELOOP",
		  o2(AT_FDCWD, magic, O_RDONLY, 0, R_NO_SYMLINKS), ELOOP);
	fdsdir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY);
	need(fdsdir >= 0, "open /proc/self/fd");
	CHECK_ERR("BENEATH: a magic link gives EXDEV",
		  o2((int)fdsdir, strrchr(magic, '/') + 1, O_RDONLY, 0,
		     R_BENEATH), EXDEV);

	/* RESOLVE_CACHED. */
	CHECK_ERR("CACHED with O_CREAT gives EAGAIN",
		  o2((int)dfd, "created", O_WRONLY | O_CREAT, 0644, R_CACHED),
		  EAGAIN);
	errno = 0;
	fd = o2((int)dfd, "file", O_RDONLY, 0, R_CACHED);
	CHECK_TRUE("CACHED opens or gives EAGAIN",
		   fd >= 0 ? is_file(fd, at("file")) : errno == EAGAIN);

	cleanup();
	return done();
}
