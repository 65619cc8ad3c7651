/* tmpfs at /dev/shm: creating, reading, writing, truncating, linking,
 * renaming and removing files and directories; attributes; a listing;
 * files kept alive by open fds and mappings; MAP_SHARED mappings that are
 * the file's own pages (seen by read/write, by other mappings and across
 * fork); POSIX semaphores, which live in /dev/shm.
 *
 * Breaks the "no files" rule on purpose: everything happens in a fresh
 * directory /dev/shm/ward-tmpfs-PID, removed at the end. Forking points
 * run as scenarios (proc.h) under a deadline. */
#include "tap.h"
#include "proc.h"

#include <dirent.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/uio.h>

#define PAGE 4096
#define TMPFS_MAGIC 0x01021994

static char base[64];

/* base/name in a static buffer (one of four, so a call may take two). */
static const char *at(const char *name)
{
	static char bufs[4][128];
	static int next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", base, name);
	return b;
}

static int all_bytes(const char *buf, size_t len, char c)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != c)
			return 0;
	return 1;
}

static void mount_points(void)
{
	struct statfs sfs;
	struct stat st;

	CHECK_OK("statfs of /dev/shm", statfs("/dev/shm", &sfs));
	CHECK_EQ("/dev/shm is a tmpfs", sfs.f_type, TMPFS_MAGIC);
	ok(sfs.f_bavail > 0 && sfs.f_blocks >= sfs.f_bavail,
	   "/dev/shm reports free blocks");
	CHECK_OK("stat of /dev/shm", stat("/dev/shm", &st));
	CHECK_EQ("/dev/shm is a sticky world-writable directory",
		 st.st_mode, S_IFDIR | 01777);
}

static void create_points(void)
{
	struct stat st;
	int fd;

	umask(022);
	CHECK_OKV("O_CREAT|O_EXCL makes a new file",
		  open(at("f"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666),
		  fd);
	CHECK_ERR("O_CREAT|O_EXCL on it again gives EEXIST",
		  open(at("f"), O_RDWR | O_CREAT | O_EXCL, 0666), EEXIST);
	CHECK_ERR("opening a missing file without O_CREAT gives ENOENT",
		  open(at("missing"), O_RDONLY), ENOENT);
	CHECK_ERR("O_CREAT of a name with a trailing slash gives EISDIR",
		  open(at("new/"), O_RDWR | O_CREAT, 0666), EISDIR);
	CHECK_ERR("opening the directory for writing gives EISDIR",
		  open(base, O_RDWR), EISDIR);
	CHECK_OK("fstat of the new file", fstat(fd, &st));
	CHECK_EQ("its mode is 0666 less the umask", st.st_mode,
		 S_IFREG | 0644);
	ok(st.st_uid == geteuid() && st.st_gid == getegid(),
	   "it belongs to the caller's effective ids");
	ok(st.st_size == 0 && st.st_nlink == 1, "it is empty, with one link");
	close(fd);
	CHECK_OKV("O_CREAT without O_EXCL opens the existing file",
		  open(at("f"), O_RDWR | O_CREAT, 0600), fd);
	close(fd);
	CHECK_OKV("a new file may be opened for writing whatever its mode",
		  open(at("ro"), O_RDWR | O_CREAT | O_EXCL, 0400), fd);
	close(fd);
}

static void io_points(void)
{
	char buf[64], big[3 * PAGE];
	struct iovec iov[2];
	struct stat st;
	int fd;

	fd = open(at("io"), O_RDWR | O_CREAT | O_EXCL, 0600);
	need(fd >= 0, "creating io");
	CHECK("write of 5 bytes", write(fd, "hello", 5), 5, 0);
	CHECK("lseek to 0", lseek(fd, 0, SEEK_SET), 0, 0);
	memset(buf, 0, sizeof(buf));
	CHECK("read gives them back", read(fd, buf, sizeof(buf)), 5, 0);
	ok(memcmp(buf, "hello", 5) == 0, "with the bytes written");
	CHECK("read at the end gives 0", read(fd, buf, sizeof(buf)), 0, 0);
	CHECK("pwrite past the end", pwrite(fd, "end", 3, 10000), 3, 0);
	CHECK("pread of the hole", pread(fd, big, 100, 5000), 100, 0);
	ok(all_bytes(big, 100, 0), "the hole reads as zeroes");
	CHECK("lseek SEEK_END", lseek(fd, 0, SEEK_END), 10003, 0);
	iov[0].iov_base = "ab";
	iov[0].iov_len = 2;
	iov[1].iov_base = "cd";
	iov[1].iov_len = 2;
	CHECK("writev of two buffers", pwritev(fd, iov, 2, 1), 4, 0);
	iov[0].iov_base = buf;
	iov[0].iov_len = 3;
	iov[1].iov_base = buf + 10;
	iov[1].iov_len = 3;
	CHECK("readv into two buffers", preadv(fd, iov, 2, 0), 6, 0);
	ok(memcmp(buf, "hab", 3) == 0 && memcmp(buf + 10, "cd\0", 3) == 0,
	   "readv scatters what writev gathered");
	close(fd);

	fd = open(at("io"), O_WRONLY | O_APPEND);
	need(fd >= 0, "opening io for appending");
	CHECK("an O_APPEND write", write(fd, "++", 2), 2, 0);
	CHECK_OK("fstat", fstat(fd, &st));
	CHECK_EQ("O_APPEND wrote at the end", st.st_size, 10005);
	close(fd);

	fd = open(at("io"), O_RDWR | O_TRUNC);
	need(fd >= 0, "opening io with O_TRUNC");
	CHECK_OK("fstat", fstat(fd, &st));
	CHECK_EQ("O_TRUNC empties the file", st.st_size, 0);
	memset(big, 'x', sizeof(big));
	CHECK("write of three pages", write(fd, big, sizeof(big)),
	      (long)sizeof(big), 0);
	CHECK_OK("ftruncate shrinks to 100", ftruncate(fd, 100));
	CHECK_OK("ftruncate grows to three pages again",
		 ftruncate(fd, sizeof(big)));
	memset(big, 1, sizeof(big));
	CHECK("pread of the whole file", pread(fd, big, sizeof(big), 0),
	      (long)sizeof(big), 0);
	ok(all_bytes(big, 100, 'x') && all_bytes(big + 100, sizeof(big) - 100, 0),
	   "what shrinking cut off reads back as zeroes");
	CHECK_OK("truncate by path", truncate(at("io"), 7));
	CHECK_OK("fstat", fstat(fd, &st));
	CHECK_EQ("truncate set the size", st.st_size, 7);
	CHECK_OK("fallocate mode 0", fallocate(fd, 0, 0, 2 * PAGE));
	CHECK_OK("fstat", fstat(fd, &st));
	ok(st.st_size == 2 * PAGE && st.st_blocks >= 2 * PAGE / 512,
	   "fallocate grew the file and gave it blocks");
	CHECK_OK("fallocate with FALLOC_FL_KEEP_SIZE",
		 fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4 * PAGE));
	CHECK_OK("fstat", fstat(fd, &st));
	CHECK_EQ("FALLOC_FL_KEEP_SIZE kept the size", st.st_size, 2 * PAGE);
	CHECK_ERR("ftruncate to a negative size gives EINVAL",
		  ftruncate(fd, -1), EINVAL);
	close(fd);
	fd = open(at("io"), O_RDONLY);
	CHECK_ERR("ftruncate of a read-only fd gives EINVAL", ftruncate(fd, 0),
		  EINVAL);
	close(fd);
}

static void attr_points(void)
{
	struct timespec ts[2] = { { 1000000000, 5 }, { 1000000001, 7 } };
	struct stat st;
	int fd;

	fd = open(at("f"), O_RDWR);
	need(fd >= 0, "opening f");
	CHECK_OK("chmod 0640", chmod(at("f"), 0640));
	CHECK_OK("fstat", fstat(fd, &st));
	CHECK_EQ("chmod changed the mode", st.st_mode, S_IFREG | 0640);
	CHECK_OK("fchmod 0600", fchmod(fd, 0600));
	CHECK_OK("fstat", fstat(fd, &st));
	CHECK_EQ("fchmod changed the mode", st.st_mode, S_IFREG | 0600);
	CHECK_OK("fchown to the caller's own ids", fchown(fd, -1, getegid()));
	CHECK_OK("utimensat with explicit times",
		 utimensat(AT_FDCWD, at("f"), ts, 0));
	CHECK_OK("fstat", fstat(fd, &st));
	ok(st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 5 &&
		   st.st_mtim.tv_sec == 1000000001 && st.st_mtim.tv_nsec == 7,
	   "stat shows the times set");
	CHECK("a write", write(fd, "x", 1), 1, 0);
	CHECK_OK("fstat", fstat(fd, &st));
	ok(st.st_mtim.tv_sec > 1000000001 && st.st_ctim.tv_sec > 1000000001,
	   "a write moves mtime and ctime to now");
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_NOW;
	CHECK_OK("futimens with UTIME_OMIT and UTIME_NOW", futimens(fd, ts));
	CHECK_OK("fstat", fstat(fd, &st));
	ok(st.st_atim.tv_sec == 1000000000 && st.st_mtim.tv_sec > 1000000001,
	   "UTIME_OMIT kept atime, UTIME_NOW set mtime");
	close(fd);
}

static void link_points(void)
{
	struct stat a, b;
	char buf[64];
	int fd;

	CHECK_OK("link f to f2", link(at("f"), at("f2")));
	CHECK_OK("stat f", stat(at("f"), &a));
	CHECK_OK("stat f2", stat(at("f2"), &b));
	ok(a.st_ino == b.st_ino && a.st_nlink == 2,
	   "both names are one inode with two links");
	CHECK_ERR("link onto an existing name gives EEXIST",
		  link(at("f"), at("f2")), EEXIST);
	CHECK_ERR("link of a directory gives EPERM", link(base, at("dl")),
		  EPERM);
	CHECK_OK("unlink f2", unlink(at("f2")));
	CHECK_OK("stat f", stat(at("f"), &a));
	CHECK_EQ("f has one link again", a.st_nlink, 1);

	CHECK_OK("symlink l -> f", symlink("f", at("l")));
	memset(buf, 0, sizeof(buf));
	CHECK("readlink", readlink(at("l"), buf, sizeof(buf)), 1, 0);
	ok(strcmp(buf, "f") == 0, "readlink gives the target");
	CHECK_OK("lstat l", lstat(at("l"), &a));
	ok(S_ISLNK(a.st_mode) && a.st_size == 1, "lstat sees a symlink");
	CHECK_OK("stat l", stat(at("l"), &b));
	ok(S_ISREG(b.st_mode), "stat follows it to the file");
	CHECK_ERR("O_NOFOLLOW on the symlink gives ELOOP",
		  open(at("l"), O_RDONLY | O_NOFOLLOW), ELOOP);
	CHECK_OK("symlink dangling -> nowhere", symlink("nowhere", at("dangling")));
	CHECK_OKV("O_CREAT through a dangling symlink creates its target",
		  open(at("dangling"), O_RDWR | O_CREAT, 0600), fd);
	close(fd);
	CHECK_OK("the target now exists", access(at("nowhere"), F_OK));
}

static void dir_points(void)
{
	struct stat st;
	int fd;

	CHECK_OK("mkdir d", mkdir(at("d"), 0755));
	CHECK_ERR("mkdir d again gives EEXIST", mkdir(at("d"), 0755), EEXIST);
	CHECK_OK("stat d", stat(at("d"), &st));
	ok(S_ISDIR(st.st_mode) && st.st_nlink == 2,
	   "a new directory has two links");
	CHECK_OK("mkdir d/sub", mkdir(at("d/sub"), 0755));
	CHECK_OK("stat d", stat(at("d"), &st));
	CHECK_EQ("a subdirectory adds a link to its parent", st.st_nlink, 3);
	fd = open(at("d/file"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	close(fd);
	CHECK_ERR("rmdir of a non-empty directory gives ENOTEMPTY",
		  rmdir(at("d")), ENOTEMPTY);
	CHECK_ERR("unlink of a directory gives EISDIR", unlink(at("d/sub")),
		  EISDIR);
	CHECK_ERR("rmdir of a file gives ENOTDIR", rmdir(at("d/file")),
		  ENOTDIR);
	CHECK_ERR("mkdir under a file gives ENOTDIR", mkdir(at("d/file/x"), 0755),
		  ENOTDIR);
	CHECK_ERR("unlink of a missing name gives ENOENT", unlink(at("d/none")),
		  ENOENT);
}

static void rename_points(void)
{
	char buf[8];
	int fd;

	fd = open(at("r1"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	need(fd >= 0 && write(fd, "one", 3) == 3, "creating r1");
	close(fd);
	fd = open(at("r2"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	need(fd >= 0 && write(fd, "two", 3) == 3, "creating r2");
	close(fd);
	CHECK_OK("rename r1 to r3", rename(at("r1"), at("r3")));
	CHECK_ERR("the old name is gone", access(at("r1"), F_OK), ENOENT);
	CHECK_OK("rename r3 over r2", rename(at("r3"), at("r2")));
	memset(buf, 0, sizeof(buf));
	ok(slurp(at("r2"), buf, sizeof(buf)) == 3 && strcmp(buf, "one") == 0,
	   "the replaced name has the moved file's data");
	CHECK_OK("rename r2 into d/", rename(at("r2"), at("d/r2")));
	CHECK_OK("rename d/sub to top", rename(at("d/sub"), at("top")));
	CHECK_ERR("rename of a directory into itself gives EINVAL",
		  rename(at("d"), at("d/inner")), EINVAL);
	CHECK_OK("mkdir top/x", mkdir(at("top/x"), 0755));
	CHECK_ERR("rename of a directory over a non-empty one gives ENOTEMPTY",
		  rename(at("d"), at("top")), ENOTEMPTY);
	CHECK_ERR("rename of a file over a directory gives EISDIR",
		  rename(at("d/r2"), at("top")), EISDIR);
	CHECK_ERR("rename of a directory over a file gives ENOTDIR",
		  rename(at("top"), at("d/r2")), ENOTDIR);
	CHECK_ERR("renameat2 RENAME_NOREPLACE onto a name gives EEXIST",
		  syscall(SYS_renameat2, AT_FDCWD, at("d/r2"), AT_FDCWD,
			  at("d/file"), RENAME_NOREPLACE),
		  EEXIST);
	CHECK_ERR("rename to another file system gives EXDEV",
		  rename(at("d/r2"), "/proc/ward-tmpfs-nothing"), EXDEV);
	CHECK_OK("rmdir top/x", rmdir(at("top/x")));
}

/* The names in dir, sorted, joined with spaces; the d_type of `name`
 * through *type. */
static int listing(const char *dir, char *out, size_t size, const char *name,
		   int *type)
{
	char buf[4096], names[32][256];
	int fd, n = 0, i, j;
	long got, pos;

	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	while ((got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (pos = 0; pos < got;) {
			struct dirent64 *d = (struct dirent64 *)(buf + pos);

			if (n < 32)
				snprintf(names[n++], sizeof(names[0]), "%s",
					 d->d_name);
			if (strcmp(d->d_name, name) == 0)
				*type = d->d_type;
			pos += d->d_reclen;
		}
	}
	close(fd);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char tmp[256];

			memcpy(tmp, names[j], sizeof(tmp));
			memcpy(names[j], names[j - 1], sizeof(tmp));
			memcpy(names[j - 1], tmp, sizeof(tmp));
		}
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		strncat(out, names[i], size - strlen(out) - 2);
		if (i + 1 < n)
			strcat(out, " ");
	}
	return n;
}

static void getdents_points(void)
{
	char out[512];
	int type = -1, n;

	n = listing(at("d"), out, sizeof(out), "r2", &type);
	okf(n == 4 && strcmp(out, ". .. file r2") == 0,
	    "getdents64 lists . .. and every entry",
	    "got %d entries: %s", n, out);
	CHECK_EQ("a regular file's d_type is DT_REG", type, DT_REG);
	n = listing(base, out, sizeof(out), "d", &type);
	CHECK_EQ("a directory's d_type is DT_DIR", type, DT_DIR);
	n = listing(base, out, sizeof(out), "l", &type);
	CHECK_EQ("a symlink's d_type is DT_LNK", type, DT_LNK);
}

static void unlinked_points(void)
{
	char buf[8];
	struct stat st;
	char *m;
	int fd;

	fd = open(at("gone"), O_RDWR | O_CREAT | O_EXCL, 0600);
	need(fd >= 0 && write(fd, "kept", 4) == 4, "creating gone");
	CHECK_OK("unlink while open", unlink(at("gone")));
	CHECK_ERR("the name is gone", access(at("gone"), F_OK), ENOENT);
	memset(buf, 0, sizeof(buf));
	CHECK("the open fd still reads the data", pread(fd, buf, 4, 0), 4, 0);
	ok(memcmp(buf, "kept", 4) == 0, "with its contents");
	CHECK("and still writes", pwrite(fd, "more", 4, 4), 4, 0);
	CHECK_OK("fstat", fstat(fd, &st));
	ok(st.st_nlink == 0 && st.st_size == 8, "fstat shows no links, 8 bytes");
	m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK_TRUE("an unlinked file can be mapped", m != MAP_FAILED);
	close(fd);
	need(m != MAP_FAILED, "mapping gone");
	memcpy(m, "MAP", 3);
	ok(memcmp(m, "MAPtmore", 8) == 0,
	   "the mapping outlives the fd and the name");
	munmap(m, PAGE);
}

static int shared_fd = -1;
static char *shared_map;

static void fork_writer(void *arg)
{
	pid_t pid;
	int st;

	(void)arg;
	pid = fork();
	if (pid == 0) {
		memcpy(shared_map + 100, "from child", 10);
		pwrite(shared_fd, "via pwrite", 10, 200);
		_exit(0);
	}
	S_OK(reap(pid, &st, 2000) == 1 && st == EXITED(0), "the child exited");
	S_OK(memcmp(shared_map + 100, "from child", 10) == 0,
	     "the child's store through its MAP_SHARED copy is seen by the parent");
	S_OK(memcmp(shared_map + 200, "via pwrite", 10) == 0,
	     "the child's pwrite is seen in the parent's mapping");
}

/* A semaphore (in /dev/shm) posted by a child wakes the parent. */
static void sem_scenario(void *arg)
{
	char name[64];
	struct timespec ts;
	sem_t *s;
	pid_t pid;
	int st;

	(void)arg;
	snprintf(name, sizeof(name), "/ward-tmpfs-%d", (int)getpid());
	s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
	S_OK(s != SEM_FAILED, "sem_open creates a semaphore");
	if (s == SEM_FAILED) {
		s_skip("sem_unlink removes it", "no semaphore");
		s_skip("a post in a child wakes sem_timedwait in the parent",
		       "no semaphore");
		return;
	}
	S_CHECK("sem_unlink removes it", sem_unlink(name), 0, 0);
	pid = fork();
	if (pid == 0) {
		sleep_ms(20);
		sem_post(s);
		_exit(0);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	S_CHECK("a post in a child wakes sem_timedwait in the parent",
		sem_timedwait(s, &ts), 0, 0);
	reap(pid, &st, 2000);
}

static void mmap_points(void)
{
	char buf[16], *m2, *p;
	int fd;

	fd = open(at("m"), O_RDWR | O_CREAT | O_EXCL, 0600);
	need(fd >= 0, "creating m");
	CHECK_OK("ftruncate to two pages", ftruncate(fd, 2 * PAGE));
	shared_map = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			  fd, 0);
	CHECK_TRUE("MAP_SHARED of the file", shared_map != MAP_FAILED);
	need(shared_map != MAP_FAILED, "mmap of m");
	ok(all_bytes(shared_map, 2 * PAGE, 0), "a grown file maps as zeroes");
	memcpy(shared_map + PAGE + 1, "mapped", 6);
	memset(buf, 0, sizeof(buf));
	CHECK("pread", pread(fd, buf, 6, PAGE + 1), 6, 0);
	ok(memcmp(buf, "mapped", 6) == 0,
	   "a store through the mapping is seen by read");
	CHECK("pwrite", pwrite(fd, "written", 7, 50), 7, 0);
	ok(memcmp(shared_map + 50, "written", 7) == 0,
	   "a pwrite is seen through the mapping");
	m2 = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, PAGE);
	CHECK_TRUE("a second MAP_SHARED at offset one page", m2 != MAP_FAILED);
	need(m2 != MAP_FAILED, "second mmap of m");
	ok(memcmp(m2 + 1, "mapped", 6) == 0,
	   "the second mapping sees the first one's store");
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK_TRUE("MAP_PRIVATE of the file", p != MAP_FAILED);
	need(p != MAP_FAILED, "private mmap of m");
	ok(memcmp(p + 50, "written", 7) == 0,
	   "a private mapping starts with the contents");
	memcpy(p + 50, "PRIVATE", 7);
	CHECK("pread", pread(fd, buf, 7, 50), 7, 0);
	ok(memcmp(buf, "written", 7) == 0,
	   "a store to a private mapping leaves the file alone");
	CHECK_OK("msync of the shared mapping",
		 msync(shared_map, 2 * PAGE, MS_SYNC));
	CHECK_ERR("msync of an unaligned address gives EINVAL",
		  msync(shared_map + 1, PAGE, MS_SYNC), EINVAL);
	shared_fd = fd;
	scenario("MAP_SHARED across fork", 3, fork_writer, NULL);
	munmap(p, PAGE);
	munmap(m2, PAGE);
	munmap(shared_map, 2 * PAGE);
	close(fd);
	CHECK_ERR("MAP_SHARED writable of a read-only fd gives EACCES",
		  (long)mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			     open(at("m"), O_RDONLY | O_CLOEXEC), 0),
		  EACCES);
	scenario("semaphores", 3, sem_scenario, NULL);
}

/* As another user (root's child turned nobody): the sticky bit and the
 * owner's rights. */
static void other_user_scenario(void *arg)
{
	struct timespec ts[2] = { { 1, 0 }, { 2, 0 } };
	int fd;

	(void)arg;
	fd = open(at("sticky/theirs"), O_WRONLY | O_CREAT | O_EXCL, 0666);
	S_OK(fd >= 0 && fchmod(fd, 0666) == 0, "root makes a 0666 file there");
	if (setgid(65534) != 0 || setuid(65534) != 0) {
		int i, e = errno;

		for (i = 0; i < 10; i++)
			s_skip("as another user", e == ENOSYS ?
			       "the runtime cannot change ids" : "setuid failed");
		return;
	}
	close(fd);
	S_CHECK_ERR("another user's file in a sticky directory cannot be removed",
		    unlink(at("sticky/theirs")), EPERM);
	S_CHECK_ERR("nor renamed away",
		    rename(at("sticky/theirs"), at("sticky/moved")), EPERM);
	fd = open(at("sticky/mine"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	S_OK(fd >= 0, "anyone may create a file in a sticky 1777 directory");
	if (fd >= 0)
		close(fd);
	S_CHECK("and remove their own", unlink(at("sticky/mine")), 0, 0);
	S_CHECK_ERR("chmod of another user's file gives EPERM",
		    chmod(at("sticky/theirs"), 0600), EPERM);
	S_CHECK_ERR("chown of another user's file gives EPERM",
		    chown(at("sticky/theirs"), 65534, -1), EPERM);
	S_CHECK_ERR("setting explicit times on another user's file gives EPERM",
		    utimensat(AT_FDCWD, at("sticky/theirs"), ts, 0), EPERM);
	S_CHECK("touching a file one may write is allowed",
		utimensat(AT_FDCWD, at("sticky/theirs"), NULL, 0), 0, 0);
	S_CHECK_ERR("opening a 0400 file of root's for writing gives EACCES",
		    open(at("ro"), O_WRONLY), EACCES);
	S_CHECK_ERR("mkdir in root's 0755 directory gives EACCES",
		    mkdir(at("nope"), 0700), EACCES);
}

static void user_points(void)
{
	struct stat st;
	int i;

	if (geteuid() != 0) {
		for (i = 0; i < 15; i++)
			skip("sticky directories and owners' rights",
			     "needs root to act as another user");
		return;
	}
	CHECK_OK("chmod of the test directory to 0755", chmod(base, 0755));
	CHECK_OK("mkdir sticky", mkdir(at("sticky"), 0777));
	CHECK_OK("chmod sticky to 01777", chmod(at("sticky"), 01777));
	stat(at("sticky"), &st);
	CHECK_EQ("sticky is a sticky world-writable directory", st.st_mode,
		 S_IFDIR | 01777);
	scenario("another user", 11, other_user_scenario, NULL);
}

static void cleanup(void)
{
	static const char *const files[] = {
		"f", "ro", "io", "l", "dangling", "nowhere", "m",
		"d/file", "d/r2", "top/x", "d/sub", "r1", "r2", "r3",
		"sticky/theirs", "sticky/mine", "sticky/moved",
	};
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(at(files[i]));
	rmdir(at("top/x"));
	rmdir(at("top"));
	rmdir(at("d/sub"));
	rmdir(at("d"));
	rmdir(at("sticky"));
	rmdir(at("nope"));
	CHECK_OK("the test directory is removed at the end", rmdir(base));
}

int main(void)
{
	plan(163);
	snprintf(base, sizeof(base), "/dev/shm/ward-tmpfs-%d", (int)getpid());
	CHECK_OK("mkdir of a fresh directory in /dev/shm", mkdir(base, 0700));
	need(access(base, W_OK) == 0, "making the test directory");
	mount_points();
	create_points();
	io_points();
	attr_points();
	link_points();
	dir_points();
	rename_points();
	getdents_points();
	unlinked_points();
	mmap_points();
	user_points();
	cleanup();
	return done();
}
