/* O_TMPFILE: unnamed regular files in a directory of /dev/shm (tmpfs) and
 * of /tmp (under `ward do` the overlay root; natively whatever the host
 * has, which supports O_TMPFILE on every common file system): the file
 * has no links and no entry, /proc/self/fd shows "#N (deleted)", linkat
 * names it (AT_EMPTY_PATH, or /proc/self/fd/N with AT_SYMLINK_FOLLOW)
 * once; O_TMPFILE|O_EXCL forbids that; the argument checks (EINVAL,
 * ENOENT, ENOTDIR, EACCES).
 *
 * Works in fresh directories /dev/shm/ward-tmpfile-PID and
 * /tmp/ward-tmpfile-PID, removed at the end; the unprivileged points run
 * as nobody in a forked child. */
#include "tap.h"
#include "proc.h"

#include <dirent.h>

/* Linux's __O_TMPFILE: O_TMPFILE without O_DIRECTORY. */
#define TMPFILE_BIT (O_TMPFILE & ~O_DIRECTORY)

static char dir[64];

/* dir/name in a static buffer (one of four, so a call may take two). */
static const char *at(const char *name)
{
	static char bufs[4][128];
	static int next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

/* Entries of dir other than "." and "..", or -1. */
static int entries(void)
{
	struct dirent *e;
	int n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static const char *fd_path(int fd)
{
	static char p[64];

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return p;
}

/* The points for one directory (POINTS_PER_DIR of them). */
#define POINTS_PER_DIR 24
static void in_dir(const char *parent)
{
	char buf[256], want[128];
	struct stat st, st2;
	long fd = -1, fd2 = -1, fd3 = -1;
	ssize_t n;

	snprintf(dir, sizeof(dir), "%s/ward-tmpfile-%d", parent, (int)getpid());
	if (mkdir(dir, 0755) == -1 || chmod(dir, 0755) == -1) {
		int i;

		for (i = 0; i < POINTS_PER_DIR; i++)
			skip(parent, "cannot make a directory there");
		return;
	}
	CHECK_OKV("O_TMPFILE|O_RDWR opens an unnamed file",
		  open(dir, O_TMPFILE | O_RDWR, 0640), fd);
	ok(fstat((int)fd, &st) == 0 && S_ISREG(st.st_mode),
	   "it is a regular file");
	CHECK_EQ("it has no links", st.st_nlink, 0);
	CHECK_EQ("its mode is the one asked for (umask 022)", st.st_mode & 07777,
		 0640);
	CHECK_EQ("the directory has no new entry", entries(), 0);
	CHECK_EQ("write to it", write((int)fd, "hello", 5), 5);
	n = pread((int)fd, buf, sizeof(buf), 0);
	ok(n == 5 && memcmp(buf, "hello", 5) == 0, "read it back");
	n = readlink(fd_path((int)fd), buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "%s/#", dir);
	okf(n > 0 && strncmp(buf, want, strlen(want)) == 0 &&
		    n > 10 && strcmp(buf + n - 10, " (deleted)") == 0,
	    "/proc/self/fd names it dir/#N (deleted)", "got %s", buf);

	CHECK("linkat(fd, \"\", AT_EMPTY_PATH) names it",
	      linkat((int)fd, "", AT_FDCWD, at("named"), AT_EMPTY_PATH), 0, 0);
	ok(stat(at("named"), &st2) == 0 && st2.st_ino == st.st_ino &&
		   st2.st_size == 5,
	   "the name is the file");
	ok(fstat((int)fd, &st2) == 0 && st2.st_nlink == 1,
	   "the file now has one link");
	CHECK_ERR("a second linkat of it to a taken name is EEXIST",
		  linkat((int)fd, "", AT_FDCWD, at("named"), AT_EMPTY_PATH),
		  EEXIST);
	CHECK("after unlink of its name", unlink(at("named")), 0, 0);
	CHECK_ERR("it cannot be linked again (no longer linkable): ENOENT",
		  linkat((int)fd, "", AT_FDCWD, at("again"), AT_EMPTY_PATH),
		  ENOENT);

	CHECK_OKV("another O_TMPFILE, O_WRONLY",
		  open(dir, O_TMPFILE | O_WRONLY, 0600), fd2);
	CHECK_EQ("write to it", write((int)fd2, "abc", 3), 3);
	CHECK("linkat of /proc/self/fd/N with AT_SYMLINK_FOLLOW names it",
	      linkat(AT_FDCWD, fd_path((int)fd2), AT_FDCWD, at("named2"),
		     AT_SYMLINK_FOLLOW),
	      0, 0);
	n = slurp(at("named2"), buf, sizeof(buf));
	ok(n == 3 && strcmp(buf, "abc") == 0, "its data is there by name");

	CHECK_OKV("O_TMPFILE|O_EXCL", open(dir, O_TMPFILE | O_EXCL | O_RDWR, 0600),
		  fd3);
	CHECK_ERR("O_EXCL: linkat with AT_EMPTY_PATH is ENOENT",
		  linkat((int)fd3, "", AT_FDCWD, at("named3"), AT_EMPTY_PATH),
		  ENOENT);
	CHECK_ERR("O_EXCL: linkat of /proc/self/fd/N is ENOENT",
		  linkat(AT_FDCWD, fd_path((int)fd3), AT_FDCWD, at("named3"),
			 AT_SYMLINK_FOLLOW),
		  ENOENT);
	CHECK_EQ("the directory holds only the one name", entries(), 1);

	CHECK_ERR("O_TMPFILE on a regular file is ENOTDIR",
		  open(at("named2"), O_TMPFILE | O_RDWR, 0600), ENOTDIR);
	CHECK_ERR("O_TMPFILE on a missing directory is ENOENT",
		  open(at("nope"), O_TMPFILE | O_RDWR, 0600), ENOENT);

	close((int)fd);
	close((int)fd2);
	close((int)fd3);
	unlink(at("named2"));
	rmdir(dir);
}

static void flags(void)
{
	CHECK_ERR("O_TMPFILE|O_RDONLY is EINVAL",
		  open("/dev/shm", O_TMPFILE | O_RDONLY, 0600), EINVAL);
	CHECK_ERR("O_TMPFILE|O_CREAT is EINVAL",
		  open("/dev/shm", O_TMPFILE | O_CREAT | O_RDWR, 0600), EINVAL);
	CHECK_ERR("__O_TMPFILE without O_DIRECTORY is EINVAL",
		  open("/dev/shm", TMPFILE_BIT | O_RDWR, 0600), EINVAL);
	CHECK_ERR("O_TMPFILE with a bad path pointer is EFAULT",
		  syscall(SYS_openat, AT_FDCWD, BAD_PTR, O_TMPFILE | O_RDWR,
			  0600),
		  EFAULT);
	CHECK_ERR("O_TMPFILE where the file system has none is EOPNOTSUPP",
		  open("/proc", O_TMPFILE | O_RDWR, 0600), EOPNOTSUPP);
}

/* As nobody: no write permission on a root-owned 0755 directory; without
 * CAP_DAC_READ_SEARCH, linkat's AT_EMPTY_PATH still names a file the
 * caller opened itself (Linux 6.10 and later). */
static void unprivileged(void *arg)
{
	const char *shm = arg;
	char name[64];
	long fd;

	if (setgid(65534) == -1 || setuid(65534) == -1) {
		s_skip("O_TMPFILE without write permission is EACCES",
		       "cannot become nobody");
		s_skip("O_TMPFILE in a writable directory", "cannot become nobody");
		s_skip("linkat AT_EMPTY_PATH of its own file",
		       "cannot become nobody");
		return;
	}
	S_CHECK_ERR("O_TMPFILE without write permission is EACCES",
		    open(shm, O_TMPFILE | O_RDWR, 0600), EACCES);
	S_CHECK_OKV("O_TMPFILE in a writable directory",
		    open("/dev/shm", O_TMPFILE | O_RDWR, 0600), fd);
	snprintf(name, sizeof(name), "/dev/shm/ward-tmpfile-n-%d", (int)getpid());
	S_CHECK("linkat AT_EMPTY_PATH of its own file",
		linkat((int)fd, "", AT_FDCWD, name, AT_EMPTY_PATH), 0, 0);
	unlink(name);
}

int main(void)
{
	char shm[64];

	plan(2 * POINTS_PER_DIR + 5 + 3);
	in_dir("/dev/shm");
	in_dir("/tmp");
	flags();
	snprintf(shm, sizeof(shm), "/dev/shm/ward-tmpfile-ro-%d", (int)getpid());
	if (geteuid() != 0 || mkdir(shm, 0755) == -1) {
		skip("O_TMPFILE without write permission is EACCES", "not root");
		skip("O_TMPFILE in a writable directory", "not root");
		skip("linkat AT_EMPTY_PATH of its own file", "not root");
	} else {
		chmod(shm, 0755);
		scenario("unprivileged", 3, unprivileged, shm);
		rmdir(shm);
	}
	return done();
}
