/* inotify: inotify_init1's flags, inotify_add_watch's watch descriptors
 * (one per inode, IN_MASK_ADD, IN_MASK_CREATE, IN_DONT_FOLLOW) and errors
 * (EACCES as an unprivileged user),
 * inotify_rm_watch and IN_IGNORED; the events of create, write, open,
 * read, close, chmod, utimes, link, rename (one cookie for the pair),
 * unlink and rmdir, in Linux's order (the parent's watch first, with the
 * name, then the file's own), on /tmp and on /dev/shm; IN_ISDIR; merged
 * identical events, IN_ONESHOT, IN_EXCL_UNLINK, IN_Q_OVERFLOW; IN_DELETE_SELF
 * of a file unlinked while open at its last close; close events at exit
 * and exec; reads (whole events, EINVAL when the first does not fit,
 * EAGAIN when empty and non-blocking), FIONREAD, poll and epoll; a blocking
 * read woken by another process and interrupted by a signal.
 *
 * Breaks the "no files" rule on purpose: everything happens in a fresh
 * directory under /tmp, removed at the end. Forking points run as
 * scenarios (proc.h) under a deadline. */
#include "tap.h"
#include "proc.h"

#include <dirent.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/time.h>

#define MAXEV 64
#define EVSIZE ((long)sizeof(struct inotify_event))

struct ev {
	int wd;
	uint32_t mask;
	uint32_t cookie;
	uint32_t len;
	char name[64];
};

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

/* Reads every queued event of the non-blocking fd into out; returns the
 * count (at most MAXEV). */
static int drain(int fd, struct ev *out)
{
	static char buf[MAXEV * (sizeof(struct inotify_event) + 64)]
		__attribute__((aligned(8)));
	int n = 0;
	ssize_t r;

	while (n < MAXEV && (r = read(fd, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (p < buf + r && n < MAXEV) {
			struct inotify_event *e = (struct inotify_event *)p;

			out[n].wd = e->wd;
			out[n].mask = e->mask;
			out[n].cookie = e->cookie;
			out[n].len = e->len;
			snprintf(out[n].name, sizeof(out[n].name), "%s",
				 e->len ? e->name : "");
			n++;
			p += sizeof(*e) + e->len;
		}
	}
	return n;
}

/* Checks that the queued events are exactly want[0..nwant) (wd, mask and
 * name), reporting what came otherwise. Returns the events read. */
static int expect(int fd, const char *desc, const struct ev *want, int nwant,
		  struct ev *got)
{
	char why[512];
	size_t len = 0;
	int n = drain(fd, got), i, same = n == nwant;

	for (i = 0; same && i < n; i++)
		same = got[i].wd == want[i].wd &&
		       got[i].mask == want[i].mask &&
		       strcmp(got[i].name, want[i].name) == 0;
	len += (size_t)snprintf(why, sizeof(why), "got %d events:", n);
	for (i = 0; i < n && len < sizeof(why) - 40; i++)
		len += (size_t)snprintf(why + len, sizeof(why) - len,
					" {%d %#x %s}", got[i].wd, got[i].mask,
					got[i].name);
	okf(same, desc, "%s", why);
	return n;
}

static int pollin(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

static int touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	return fd < 0 ? -1 : close(fd);
}

static void errors(int in, int file_fd)
{
	int other = inotify_init1(IN_CLOEXEC);
	int wd;

	CHECK_ERR("a bad fd is EBADF", inotify_add_watch(999, base, IN_CREATE),
		  EBADF);
	CHECK_ERR("a fd that is not inotify is EINVAL",
		  inotify_add_watch(file_fd, base, IN_CREATE), EINVAL);
	CHECK_ERR("a zero mask is EINVAL", inotify_add_watch(in, base, 0),
		  EINVAL);
	CHECK_ERR("an unknown mask bit is EINVAL",
		  inotify_add_watch(in, base, IN_CREATE | 0x1000), EINVAL);
	CHECK_ERR("IN_MASK_ADD with IN_MASK_CREATE is EINVAL",
		  inotify_add_watch(in, base,
				    IN_CREATE | IN_MASK_ADD | IN_MASK_CREATE),
		  EINVAL);
	CHECK_ERR("a missing path is ENOENT",
		  inotify_add_watch(in, at("missing"), IN_CREATE), ENOENT);
	CHECK_ERR("an empty path is ENOENT", inotify_add_watch(in, "", IN_CREATE),
		  ENOENT);
	CHECK_ERR("a bad path pointer is EFAULT",
		  syscall(SYS_inotify_add_watch, in, BAD_PTR, IN_CREATE),
		  EFAULT);
	CHECK_ERR("IN_ONLYDIR on a file is ENOTDIR",
		  inotify_add_watch(in, at("plain"), IN_MODIFY | IN_ONLYDIR),
		  ENOTDIR);
	wd = inotify_add_watch(other, at("plain"), IN_MODIFY);
	CHECK_ERR("IN_MASK_CREATE on a watched inode is EEXIST",
		  inotify_add_watch(other, at("plain"),
				    IN_ATTRIB | IN_MASK_CREATE),
		  EEXIST);
	CHECK_ERR("inotify_rm_watch of an unknown wd is EINVAL",
		  inotify_rm_watch(other, wd + 100), EINVAL);
	CHECK_ERR("inotify_rm_watch on a bad fd is EBADF",
		  inotify_rm_watch(999, wd), EBADF);
	CHECK_ERR("inotify_rm_watch on a fd that is not inotify is EINVAL",
		  inotify_rm_watch(file_fd, wd), EINVAL);
	CHECK_ERR("inotify_init1 with an unknown flag is EINVAL",
		  inotify_init1(IN_CLOEXEC | 1), EINVAL);
	close(other);
}

/* A blocking read in this child waits for a grandchild's create. */
static void woken_by_another_process(void *arg)
{
	char buf[256] __attribute__((aligned(8)));
	struct inotify_event *e = (struct inotify_event *)buf;
	int in = inotify_init1(IN_CLOEXEC), st;
	pid_t pid;
	ssize_t r;

	(void)arg;
	inotify_add_watch(in, base, IN_CREATE);
	pid = fork();
	if (pid == 0) {
		sleep_ms(30);
		_exit(touch(at("late")) == 0 ? 0 : 1);
	}
	r = read(in, buf, sizeof(buf));
	S_TRUE("a blocking read waits for another process's create",
	       r == EVSIZE + 16 && e->mask == IN_CREATE &&
		       strcmp(e->name, "late") == 0);
	S_OK(reap(pid, &st, 2000) == 1 && st == EXITED(0),
	     "the creating process exited cleanly");
}

/* The events a grandchild's open makes, once it has ended; "" when
 * nothing came. */
static const char *events_of_child(int in, int use_exec)
{
	static char out[64];
	char buf[256] __attribute__((aligned(8)));
	size_t len = 0;
	int st, fd;
	ssize_t r;
	char *p;
	pid_t pid = fork();

	if (pid == 0) {
		fd = open(at("plain"), O_WRONLY | (use_exec ? O_CLOEXEC : 0));
		if (use_exec && fd >= 0)
			execl("/bin/true", "true", (char *)NULL);
		_exit(fd < 0);
	}
	if (reap(pid, &st, 2000) != 1)
		return "no exit";
	out[0] = '\0';
	r = read(in, buf, sizeof(buf));
	for (p = buf; r > 0 && p < buf + r && len < sizeof(out) - 12;) {
		struct inotify_event *e = (struct inotify_event *)p;

		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%#x",
					len ? " " : "", e->mask);
		p += sizeof(*e) + e->len;
	}
	return out;
}

/* A file still open when its process exits, or when close-on-exec at
 * exec, closes then. */
static void closed_by_exit(void *arg)
{
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	const char *got;

	(void)arg;
	inotify_add_watch(in, at("plain"), IN_OPEN | IN_CLOSE_WRITE);
	got = events_of_child(in, 0);
	s_okf(strcmp(got, "0x20 0x8") == 0,
	      "a process's exit closes its files: IN_OPEN, IN_CLOSE_WRITE",
	      "got %s", got);
	got = events_of_child(in, 1);
	s_okf(strcmp(got, "0x20 0x8") == 0,
	      "exec closes close-on-exec files: IN_OPEN, IN_CLOSE_WRITE",
	      "got %s", got);
}

/* Without read permission on the file a watch is EACCES. */
static void no_read_permission(void *arg)
{
	int in = inotify_init1(IN_CLOEXEC);

	(void)arg;
	if (geteuid() != 0 || setuid(65534) != 0) {
		s_skip("a watch needs read permission (EACCES)", "not root");
		return;
	}
	S_CHECK_ERR("a watch needs read permission (EACCES)",
		    inotify_add_watch(in, at("secret"), IN_MODIFY), EACCES);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A blocking read with nothing to come ends with EINTR on a signal whose
 * handler has no SA_RESTART. */
static void interrupted(void *arg)
{
	struct sigaction sa;
	struct itimerval it = { .it_value = { 0, 30000 } };
	char buf[256];
	int in = inotify_init1(IN_CLOEXEC);

	(void)arg;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	inotify_add_watch(in, base, IN_CREATE);
	setitimer(ITIMER_REAL, &it, NULL);
	S_CHECK_ERR("a blocking read is interrupted by a signal (EINTR)",
		    read(in, buf, sizeof(buf)), EINTR);
}

/* The configured queue limit (Linux's default where /proc does not say). */
static long max_queued(void)
{
	char buf[32];

	if (slurp("/proc/sys/fs/inotify/max_queued_events", buf,
		  sizeof(buf)) > 0)
		return atol(buf);
	return 16384;
}

/* Writes to an open file after its unlink: a directory watch sees them,
 * one with IN_EXCL_UNLINK does not. */
static void excl_unlink(void)
{
	struct ev got[MAXEV];
	int plain = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	int excl = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	int wd = inotify_add_watch(plain, base, IN_MODIFY);
	int fd = open(at("gone"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	const struct ev want[] = { { wd, IN_MODIFY, 0, 0, "gone" } };

	inotify_add_watch(excl, base, IN_MODIFY | IN_EXCL_UNLINK);
	unlink(at("gone"));
	write(fd, "x", 1);
	close(fd);
	expect(plain, "a write after unlink reaches the directory's watch",
	       want, 1, got);
	CHECK_ERR("but not one with IN_EXCL_UNLINK",
		  read(excl, got, sizeof(got)), EAGAIN);
	close(plain);
	close(excl);
}

/* A watched file unlinked while open: IN_DELETE_SELF waits for the close. */
static void unlinked_while_open(void)
{
	struct ev got[MAXEV];
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC), wd, fd;

	fd = open(at("held"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	wd = inotify_add_watch(in, at("held"), IN_ALL_EVENTS);
	unlink(at("held"));
	write(fd, "x", 1);
	{
		const struct ev want[] = {
			{ wd, IN_ATTRIB, 0, 0, "" },
			{ wd, IN_MODIFY, 0, 0, "" },
		};
		expect(in, "unlinked while open: IN_ATTRIB, and the watch still sees writes",
		       want, 2, got);
	}
	close(fd);
	{
		const struct ev want[] = {
			{ wd, IN_CLOSE_WRITE, 0, 0, "" },
			{ wd, IN_DELETE_SELF, 0, 0, "" },
			{ wd, IN_IGNORED, 0, 0, "" },
		};
		expect(in, "the last close brings IN_DELETE_SELF and IN_IGNORED",
		       want, 3, got);
	}
	close(in);
}

/* The same events on the tmpfs at /dev/shm. */
static void shm(void)
{
	char dir[64];
	struct ev got[MAXEV];
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC), wd, fd;
	const struct ev want[] = {
		{ 1, IN_CREATE, 0, 0, "f" },	  { 1, IN_OPEN, 0, 0, "f" },
		{ 1, IN_MODIFY, 0, 0, "f" },	  { 1, IN_CLOSE_WRITE, 0, 0, "f" },
		{ 1, IN_DELETE, 0, 0, "f" },	  { 1, IN_DELETE_SELF, 0, 0, "" },
		{ 1, IN_IGNORED, 0, 0, "" },
	};
	char path[96];

	strcpy(dir, "/dev/shm/inotify-XXXXXX");
	if (!mkdtemp(dir)) {
		skip("a first watch is wd 1", "no /dev/shm");
		skip("events on /dev/shm", "no /dev/shm");
		close(in);
		return;
	}
	wd = inotify_add_watch(in, dir, IN_ALL_EVENTS);
	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	write(fd, "x", 1);
	close(fd);
	unlink(path);
	rmdir(dir);
	okf(wd == 1, "a first watch is wd 1", "wd %d", wd);
	expect(in, "events on /dev/shm: create, open, write, close, unlink, rmdir",
	       want, 7, got);
	close(in);
}

static void overflow(void)
{
	static char buf[1 << 16] __attribute__((aligned(8)));
	long limit = max_queued(), count = 0, i;
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC), fd, last_wd = 0;
	uint32_t last_mask = 0;
	ssize_t r;

	inotify_add_watch(in, at("plain"), IN_OPEN | IN_CLOSE_NOWRITE);
	for (i = 0; i < limit / 2 + 2; i++) {
		fd = open(at("plain"), O_RDONLY | O_CLOEXEC);
		close(fd);
	}
	while ((r = read(in, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (p < buf + r) {
			struct inotify_event *e = (struct inotify_event *)p;

			last_wd = e->wd;
			last_mask = e->mask;
			count++;
			p += sizeof(*e) + e->len;
		}
	}
	CHECK_EQ("a full queue holds max_queued_events and one more", count,
		 limit + 1);
	CHECK_TRUE("the last event is IN_Q_OVERFLOW with wd -1",
		   last_wd == -1 && last_mask == IN_Q_OVERFLOW);
	close(in);
}

int main(void)
{
	struct ev got[MAXEV];
	char target[64], path[64], buf[EVSIZE];
	struct epoll_event ee = { .events = EPOLLIN }, out;
	int in, in2, dw, fw, fw2, sw, ow, ep, fd, n, r0;
	long r;

	plan(80);

	strcpy(base, "/tmp/inotify-XXXXXX");
	need(mkdtemp(base) != NULL, "a directory in /tmp");
	need(touch(at("plain")) == 0, "a file");

	/* ---- the instance ---- */
	CHECK_OKV("inotify_init1(IN_NONBLOCK | IN_CLOEXEC) succeeds",
		  inotify_init1(IN_NONBLOCK | IN_CLOEXEC), r);
	in = (int)r;
	CHECK_EQ("IN_CLOEXEC sets FD_CLOEXEC", fcntl(in, F_GETFD), FD_CLOEXEC);
	CHECK_EQ("F_GETFL shows O_RDONLY | O_NONBLOCK", fcntl(in, F_GETFL),
		 O_RDONLY | O_NONBLOCK);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", in);
	r = readlink(path, target, sizeof(target) - 1);
	target[r > 0 ? r : 0] = 0;
	CHECK_TRUE("/proc/self/fd names it anon_inode:inotify",
		   strcmp(target, "anon_inode:inotify") == 0);
	CHECK_OKV("inotify_init succeeds", inotify_init(), r);
	CHECK_EQ("inotify_init's fd is blocking and not close-on-exec",
		 fcntl((int)r, F_GETFL) | fcntl((int)r, F_GETFD), O_RDONLY);
	close((int)r);

	fd = open(at("plain"), O_RDONLY | O_CLOEXEC);
	errors(in, fd);
	close(fd);

	/* ---- watch descriptors ---- */
	CHECK_OKV("a watch on the directory", inotify_add_watch(in, base, IN_ALL_EVENTS), r);
	dw = (int)r;
	CHECK_EQ("the same inode watched again keeps its wd",
		 inotify_add_watch(in, base, IN_ALL_EVENTS), dw);
	CHECK_EQ("and so does the same inode by another path",
		 inotify_add_watch(in, at("."), IN_ALL_EVENTS), dw);
	CHECK_OKV("IN_ONLYDIR on a directory", inotify_add_watch(in, base,
		  IN_ALL_EVENTS | IN_ONLYDIR | IN_EXCL_UNLINK), r);
	CHECK_ERR("nothing queued: a read is EAGAIN",
		  read(in, got, sizeof(got)), EAGAIN);
	n = -1;
	CHECK_TRUE("nothing queued: FIONREAD is 0",
		   ioctl(in, FIONREAD, &n) == 0 && n == 0);
	CHECK_TRUE("nothing queued: no POLLIN", !pollin(in));

	/* ---- create, write, close ---- */
	fd = open(at("a"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	write(fd, "x", 1);
	write(fd, "y", 1);
	close(fd);
	CHECK_TRUE("events queued: POLLIN", pollin(in));
	n = -1;
	CHECK_TRUE("FIONREAD gives the bytes of the four events",
		   ioctl(in, FIONREAD, &n) == 0 && n == 4 * (EVSIZE + 16));
	CHECK_ERR("a read smaller than the first event is EINVAL",
		  read(in, buf, sizeof(buf)), EINVAL);
	{
		const struct ev want[] = {
			{ dw, IN_CREATE, 0, 0, "a" },
			{ dw, IN_OPEN, 0, 0, "a" },
			{ dw, IN_MODIFY, 0, 0, "a" },
			{ dw, IN_CLOSE_WRITE, 0, 0, "a" },
		};
		expect(in, "create, two writes, close: IN_CREATE, IN_OPEN, one IN_MODIFY, IN_CLOSE_WRITE",
		       want, 4, got);
		CHECK_TRUE("names are NUL-padded to 16 bytes, cookies 0",
			   got[0].len == 16 && got[0].cookie == 0);
	}

	/* ---- a file's own watch ---- */
	CHECK_OKV("a watch on the file", inotify_add_watch(in, at("a"), IN_ALL_EVENTS), r);
	fw = (int)r;
	CHECK_TRUE("another inode gets another wd", fw != dw && fw > 0);
	chmod(at("a"), 0600);
	{
		const struct ev want[] = {
			{ dw, IN_ATTRIB, 0, 0, "a" },
			{ fw, IN_ATTRIB, 0, 0, "" },
		};
		expect(in, "chmod: IN_ATTRIB to the directory, then to the file", want, 2, got);
		CHECK_EQ("an event on the watched file itself has no name", got[1].len, 0);
	}
	fd = open(at("a"), O_RDONLY | O_CLOEXEC);
	read(fd, buf, 2);
	read(fd, buf, 2);
	close(fd);
	{
		const struct ev want[] = {
			{ dw, IN_OPEN, 0, 0, "a" },	{ fw, IN_OPEN, 0, 0, "" },
			{ dw, IN_ACCESS, 0, 0, "a" },	{ fw, IN_ACCESS, 0, 0, "" },
			{ dw, IN_CLOSE_NOWRITE, 0, 0, "a" },
			{ fw, IN_CLOSE_NOWRITE, 0, 0, "" },
		};
		expect(in, "open, read (and a read at EOF), close", want, 6, got);
	}
	utimensat(AT_FDCWD, at("a"), NULL, 0);
	truncate(at("a"), 0);
	{
		const struct ev want[] = {
			{ dw, IN_ATTRIB, 0, 0, "a" },	{ fw, IN_ATTRIB, 0, 0, "" },
			{ dw, IN_MODIFY, 0, 0, "a" },	{ fw, IN_MODIFY, 0, 0, "" },
		};
		expect(in, "utimes is IN_ATTRIB, truncate IN_MODIFY", want, 4, got);
	}
	chown(at("a"), geteuid(), (gid_t)-1);
	{
		const struct ev want[] = {
			{ dw, IN_ATTRIB, 0, 0, "a" },	{ fw, IN_ATTRIB, 0, 0, "" },
		};
		expect(in, "chown is IN_ATTRIB", want, 2, got);
	}
	link(at("a"), at("hard"));
	unlink(at("hard"));
	{
		const struct ev want[] = {
			{ fw, IN_ATTRIB, 0, 0, "" }, { dw, IN_CREATE, 0, 0, "hard" },
			{ fw, IN_ATTRIB, 0, 0, "" }, { dw, IN_DELETE, 0, 0, "hard" },
		};
		expect(in, "link and unlink of a second name: the link count is IN_ATTRIB",
		       want, 4, got);
	}

	/* ---- rename ---- */
	rename(at("a"), at("b"));
	{
		const struct ev want[] = {
			{ dw, IN_MOVED_FROM, 0, 0, "a" },
			{ dw, IN_MOVED_TO, 0, 0, "b" },
			{ fw, IN_MOVE_SELF, 0, 0, "" },
		};
		expect(in, "rename: IN_MOVED_FROM, IN_MOVED_TO, IN_MOVE_SELF", want, 3, got);
		CHECK_TRUE("the two halves of a rename share a cookie",
			   got[0].cookie != 0 && got[0].cookie == got[1].cookie &&
				   got[2].cookie == 0);
	}
	r0 = (int)got[0].cookie;
	touch(at("c"));
	drain(in, got);
	rename(at("c"), at("b"));
	{
		const struct ev want[] = {
			{ dw, IN_MOVED_FROM, 0, 0, "c" },
			{ dw, IN_MOVED_TO, 0, 0, "b" },
			{ fw, IN_ATTRIB, 0, 0, "" },
			{ fw, IN_DELETE_SELF, 0, 0, "" },
			{ fw, IN_IGNORED, 0, 0, "" },
		};
		expect(in, "a rename over a watched file deletes it: IN_DELETE_SELF, IN_IGNORED",
		       want, 5, got);
		CHECK_TRUE("each rename has its own cookie",
			   (int)got[0].cookie != r0);
	}

	/* ---- directories, unlink, rmdir ---- */
	mkdir(at("sub"), 0755);
	CHECK_OKV("a watch on a subdirectory", inotify_add_watch(in, at("sub"), IN_ALL_EVENTS), r);
	sw = (int)r;
	{
		DIR *dir = opendir(at("sub"));
		const struct ev want[] = {
			{ dw, IN_CREATE | IN_ISDIR, 0, 0, "sub" },
			{ dw, IN_OPEN | IN_ISDIR, 0, 0, "sub" },
			{ sw, IN_OPEN | IN_ISDIR, 0, 0, "" },
			{ dw, IN_ACCESS | IN_ISDIR, 0, 0, "sub" },
			{ sw, IN_ACCESS | IN_ISDIR, 0, 0, "" },
			{ dw, IN_CLOSE_NOWRITE | IN_ISDIR, 0, 0, "sub" },
			{ sw, IN_CLOSE_NOWRITE | IN_ISDIR, 0, 0, "" },
		};

		if (dir) {
			readdir(dir);
			closedir(dir);
		}
		expect(in, "mkdir, then a listing: IN_ISDIR on a directory's events",
		       want, 7, got);
	}
	CHECK_OKV("a watch on b", inotify_add_watch(in, at("b"), IN_ALL_EVENTS), r);
	fw2 = (int)r;
	rename(at("b"), at("sub/b"));
	unlink(at("sub/b"));
	rmdir(at("sub"));
	{
		const struct ev want[] = {
			{ dw, IN_MOVED_FROM, 0, 0, "b" },
			{ sw, IN_MOVED_TO, 0, 0, "b" },
			{ fw2, IN_MOVE_SELF, 0, 0, "" },
			{ fw2, IN_ATTRIB, 0, 0, "" },
			{ fw2, IN_DELETE_SELF, 0, 0, "" },
			{ fw2, IN_IGNORED, 0, 0, "" },
			{ sw, IN_DELETE, 0, 0, "b" },
			{ sw, IN_DELETE_SELF, 0, 0, "" },
			{ sw, IN_IGNORED, 0, 0, "" },
			{ dw, IN_DELETE | IN_ISDIR, 0, 0, "sub" },
		};
		expect(in, "a move between directories, unlink, rmdir",
		       want, 10, got);
	}
	CHECK_ERR("a wd ended by IN_IGNORED is gone", inotify_rm_watch(in, sw),
		  EINVAL);

	/* ---- symlinks ---- */
	symlink("plain", at("ln"));
	r = inotify_add_watch(in, at("ln"), IN_ATTRIB);
	CHECK_OKV("IN_DONT_FOLLOW watches the link itself",
		  inotify_add_watch(in, at("ln"), IN_ATTRIB | IN_DONT_FOLLOW), r0);
	CHECK_TRUE("the link and its target have different wds", r0 != r && r > 0);
	inotify_rm_watch(in, (int)r);
	inotify_rm_watch(in, r0);
	drain(in, got);

	/* ---- IN_ONESHOT, IN_MASK_ADD, inotify_rm_watch ---- */
	in2 = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	ow = inotify_add_watch(in2, at("plain"), IN_MODIFY | IN_ONESHOT);
	fd = open(at("plain"), O_WRONLY | O_CLOEXEC);
	write(fd, "1", 1);
	{
		const struct ev want[] = {
			{ ow, IN_MODIFY, 0, 0, "" },
			{ ow, IN_IGNORED, 0, 0, "" },
		};
		expect(in2, "IN_ONESHOT: one event, then IN_IGNORED", want, 2, got);
	}
	write(fd, "2", 1);
	CHECK_ERR("IN_ONESHOT: nothing after it", read(in2, got, sizeof(got)),
		  EAGAIN);
	CHECK_TRUE("a new watch after IN_IGNORED gets a new wd",
		   (r = inotify_add_watch(in2, at("plain"), IN_MODIFY)) > ow);
	CHECK_EQ("IN_MASK_ADD keeps the wd",
		 inotify_add_watch(in2, at("plain"), IN_ATTRIB | IN_MASK_ADD), r);
	write(fd, "3", 1);
	fchmod(fd, 0644);
	{
		const struct ev want[] = {
			{ (int)r, IN_MODIFY, 0, 0, "" },
			{ (int)r, IN_ATTRIB, 0, 0, "" },
		};
		expect(in2, "IN_MASK_ADD: both masks apply", want, 2, got);
	}
	CHECK_EQ("without IN_MASK_ADD the mask is replaced",
		 inotify_add_watch(in2, at("plain"), IN_ATTRIB), r);
	write(fd, "4", 1);
	CHECK_ERR("the replaced mask no longer has IN_MODIFY",
		  read(in2, got, sizeof(got)), EAGAIN);
	CHECK("inotify_rm_watch succeeds", inotify_rm_watch(in2, (int)r), 0, 0);
	{
		const struct ev want[] = { { (int)r, IN_IGNORED, 0, 0, "" } };

		expect(in2, "inotify_rm_watch queues IN_IGNORED", want, 1, got);
	}
	fchmod(fd, 0600);
	CHECK_ERR("no events after inotify_rm_watch",
		  read(in2, got, sizeof(got)), EAGAIN);
	close(fd);

	/* ---- epoll ---- */
	ep = epoll_create1(EPOLL_CLOEXEC);
	ee.data.fd = in2;
	epoll_ctl(ep, EPOLL_CTL_ADD, in2, &ee);
	CHECK_EQ("epoll: not ready when empty", epoll_wait(ep, &out, 1, 0), 0);
	inotify_add_watch(in2, base, IN_CREATE);
	touch(at("d"));
	CHECK_TRUE("epoll: ready after an event",
		   epoll_wait(ep, &out, 1, 1000) == 1 && out.data.fd == in2 &&
			   (out.events & EPOLLIN));
	{
		const struct ev want[] = { { 0, IN_CREATE, 0, 0, "d" } };

		n = drain(in2, got);
		CHECK_TRUE("the event is the create",
			   n == 1 && got[0].mask == want[0].mask &&
				   strcmp(got[0].name, "d") == 0);
	}
	CHECK_EQ("epoll: not ready once read", epoll_wait(ep, &out, 1, 0), 0);
	close(ep);
	close(in2);
	drain(in, got);

	/* ---- blocking ---- */
	scenario("woken by another process", 2, woken_by_another_process, NULL);
	scenario("interrupted", 1, interrupted, NULL);
	scenario("closed by exit", 2, closed_by_exit, NULL);
	chmod(base, 0755);
	close(open(at("secret"), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	scenario("no read permission", 1, no_read_permission, NULL);
	unlink(at("secret"));
	drain(in, got);
	close(in);

	excl_unlink();
	unlinked_while_open();
	shm();
	overflow();

	unlink(at("plain"));
	unlink(at("ln"));
	unlink(at("d"));
	unlink(at("late"));
	CHECK("the directory is removed at the end", rmdir(base), 0, 0);
	return done();
}
