/* Advisory locks: flock (per open file description, shared/exclusive,
 * LOCK_NB, conversion, release on last close, across processes, blocking
 * until released) and fcntl record locks (classic locks per process:
 * F_GETLK reports the holder, conflicts are EAGAIN, a close of any fd of
 * the file drops them, exit drops them, F_SETLKW waits; OFD locks per
 * description). Works in a fresh directory under /tmp; every point that
 * forks or blocks runs in a scenario child under a deadline. */
#include "tap.h"
#include "proc.h"

#include <sys/file.h>

static char path[128];

static int lk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
	return fcntl(fd, cmd, &fl);
}

/* Whether fd becomes readable within ms. */
static int readable_within(int fd, int ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };

	return poll(&pfd, 1, ms) == 1;
}

static void flock_processes(void *arg)
{
	int a, b, p[2], st;
	char c = 0;
	pid_t pid;

	(void)arg;
	a = open(path, O_RDWR);
	S_CHECK_OK("LOCK_EX", flock(a, LOCK_EX));
	pid = fork();
	if (pid == 0) {
		b = open(path, O_RDWR);
		_exit(flock(b, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK ? 0 : 1);
	}
	S_OK(reap(pid, &st, 2000) == 1 && st == EXITED(0),
	     "another process's LOCK_SH|LOCK_NB is EWOULDBLOCK");
	if (pipe(p) != 0)
		return;
	pid = fork();
	if (pid == 0) {
		b = open(path, O_RDWR);
		if (flock(b, LOCK_EX) == 0)
			write(p[1], "x", 1);
		_exit(0);
	}
	S_OK(!readable_within(p[0], 100), "a blocking LOCK_EX waits while the lock is held");
	flock(a, LOCK_UN);
	S_OK(readable_within(p[0], 2000) && read(p[0], &c, 1) == 1 && c == 'x',
	     "it is granted once the holder unlocks");
	reap(pid, &st, 2000);
}

static void posix_processes(void *arg)
{
	struct flock fl;
	int a, a2, b, p[2], st;
	char c = 0;
	pid_t pid, me = getpid();

	(void)arg;
	a = open(path, O_RDWR);
	S_CHECK_OK("F_SETLK F_WRLCK [0,10)", lk(a, F_SETLK, F_WRLCK, 0, 10));
	pid = fork();
	if (pid == 0) {
		int bad = 0;

		b = open(path, O_RDWR);
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_RDLCK;
		fl.l_start = 5;
		fl.l_len = 1;
		if (fcntl(b, F_GETLK, &fl) != 0 || fl.l_type != F_WRLCK || fl.l_pid != me ||
		    fl.l_start != 0 || fl.l_len != 10)
			bad |= 1;
		if (!(lk(b, F_SETLK, F_RDLCK, 5, 1) == -1 && (errno == EAGAIN || errno == EACCES)))
			bad |= 2;
		if (lk(b, F_SETLK, F_WRLCK, 10, 10) != 0)
			bad |= 4;
		_exit(bad);
	}
	S_OK(reap(pid, &st, 2000) == 1 && st == EXITED(0),
	     "another process: F_GETLK names the holder, F_SETLK conflicts are EAGAIN, other bytes lock");
	a2 = open(path, O_RDONLY);
	close(a2);
	pid = fork();
	if (pid == 0) {
		b = open(path, O_RDWR);
		_exit(lk(b, F_SETLK, F_WRLCK, 0, 10) == 0 ? 0 : 1);
	}
	S_OK(reap(pid, &st, 2000) == 1 && st == EXITED(0),
	     "closing any fd of the file drops the process's locks");

	S_CHECK_OK("F_SETLK again", lk(a, F_SETLK, F_WRLCK, 0, 0));
	if (pipe(p) != 0)
		return;
	pid = fork();
	if (pid == 0) {
		b = open(path, O_RDWR);
		if (lk(b, F_SETLKW, F_WRLCK, 0, 1) == 0)
			write(p[1], "x", 1);
		_exit(0);
	}
	S_OK(!readable_within(p[0], 100), "F_SETLKW waits while the range is locked");
	lk(a, F_SETLK, F_UNLCK, 0, 0);
	S_OK(readable_within(p[0], 2000) && read(p[0], &c, 1) == 1 && c == 'x',
	     "it is granted once the holder unlocks");
	reap(pid, &st, 2000);

	pid = fork();
	if (pid == 0) {
		b = open(path, O_RDWR);
		lk(b, F_SETLK, F_WRLCK, 0, 0);
		_exit(0);
	}
	reap(pid, &st, 2000);
	S_CHECK_OK("a process's locks go when it exits", lk(a, F_SETLK, F_WRLCK, 0, 0));
}

int main(void)
{
	char dir[64];
	struct flock fl;
	int a, b, d, w;

	plan(30);
	snprintf(dir, sizeof(dir), "/tmp/ward-locks-%d", (int)getpid());
	need(mkdir(dir, 0700) == 0, "a fresh directory");
	snprintf(path, sizeof(path), "%s/f", dir);
	a = open(path, O_RDWR | O_CREAT, 0600);
	b = open(path, O_RDWR);
	need(a >= 0 && b >= 0, "two opens of one file");

	/* flock in one process: descriptions conflict, dups share. */
	CHECK_OK("flock LOCK_EX", flock(a, LOCK_EX));
	CHECK_ERR("another description's LOCK_EX|LOCK_NB is EWOULDBLOCK", flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	d = dup(a);
	CHECK_OK("a dup shares the lock (conversion to LOCK_SH)", flock(d, LOCK_SH | LOCK_NB));
	CHECK_OK("a second shared lock is granted", flock(b, LOCK_SH | LOCK_NB));
	CHECK_ERR("LOCK_EX over another's shared lock is EWOULDBLOCK", flock(a, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	close(b);
	b = open(path, O_RDWR);
	CHECK_OK("closing its only fd released that lock", flock(a, LOCK_EX | LOCK_NB));
	close(a);
	CHECK_ERR("the dup keeps the description's lock", flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	close(d);
	CHECK_OK("the last close releases it", flock(b, LOCK_EX | LOCK_NB));
	CHECK_ERR("flock with a bad operation is EINVAL", flock(b, 0), EINVAL);
	flock(b, LOCK_UN);
	close(b);

	/* record locks in one process */
	a = open(path, O_RDWR);
	b = open(path, O_RDWR);
	CHECK_OK("F_SETLK F_WRLCK", lk(a, F_SETLK, F_WRLCK, 0, 100));
	CHECK_OK("the same process relocks through another fd", lk(b, F_SETLK, F_RDLCK, 50, 10));
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_len = 0;
	CHECK_TRUE("F_GETLK finds no conflict with its own locks",
		   fcntl(b, F_GETLK, &fl) == 0 && fl.l_type == F_UNLCK);
	lk(a, F_SETLK, F_UNLCK, 0, 0);
	CHECK_OK("F_OFD_SETLK on one description", lk(a, F_OFD_SETLK, F_WRLCK, 0, 0));
	CHECK_ERR("another description's F_OFD_SETLK is EAGAIN", lk(b, F_OFD_SETLK, F_RDLCK, 10, 1), EAGAIN);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	CHECK_TRUE("F_OFD_GETLK reports it with l_pid -1",
		   fcntl(b, F_OFD_GETLK, &fl) == 0 && fl.l_type == F_WRLCK && fl.l_pid == -1);
	close(a);
	CHECK_OK("closing the description drops its OFD lock", lk(b, F_OFD_SETLK, F_WRLCK, 0, 0));
	lk(b, F_OFD_SETLK, F_UNLCK, 0, 0);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	fl.l_pid = 1;
	CHECK_ERR("an OFD lock with l_pid set is EINVAL", fcntl(b, F_OFD_SETLK, &fl), EINVAL);
	w = open(path, O_WRONLY);
	CHECK_ERR("F_RDLCK on a write-only fd is EBADF", lk(w, F_SETLK, F_RDLCK, 0, 1), EBADF);
	CHECK_ERR("F_GETLK of F_UNLCK is EINVAL", lk(b, F_GETLK, F_UNLCK, 0, 1), EINVAL);
	close(w);
	close(b);

	scenario("flock across processes", 4, flock_processes, NULL);
	scenario("record locks across processes", 7, posix_processes, NULL);
	unlink(path);
	rmdir(dir);
	return done();
}
