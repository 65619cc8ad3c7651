/* Pseudo-terminals: posix_openpt(3), grantpt(3), unlockpt(3), ptsname(3)
 * and openpty(3); /dev/pts nodes; the line discipline (canonical lines,
 * erase and kill, end of file, echo with ECHOCTL, ONLCR, raw mode with
 * VMIN/VTIME); termios, window size and flush ioctls and their errors;
 * hang-up when either end closes; poll and epoll readiness. In forked
 * children: controlling terminals (setsid + open or TIOCSCTTY, /dev/tty,
 * TIOCGPGRP/TIOCSPGRP/TIOCGSID and their errors), ^C sending SIGINT and
 * TIOCSWINSZ sending SIGWINCH to the foreground group, background groups'
 * reads, writes under TOSTOP and terminal changes (SIGTTIN, SIGTTOU, EIO),
 * and a session leader's exit hanging up its session's foreground group.
 *
 * Linux hands master input to the line discipline asynchronously, so every
 * read waits (poll with a deadline) for what it expects; the echo seen on
 * the master is the sign that input has been processed. */
#include "tap.h"
#include "proc.h"

#include <dirent.h>
#include <pty.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <termios.h>

#define WAIT_MS 2000
/* _IOR('T', 0x2A, struct termios2): <asm/termbits.h> clashes with
 * <termios.h>. */
#define TCGETS2_ 0x802c542aUL

/* Reads exactly want bytes from fd (waiting up to WAIT_MS) and checks they
 * are the expected ones. */
static int got(int fd, const char *want, size_t len)
{
	char buf[256];
	long n;

	if (len > sizeof(buf))
		return 0;
	n = read_timeout(fd, buf, len, WAIT_MS);
	return n == (long)len && memcmp(buf, want, len) == 0;
}

/* Whether fd shows no POLLIN within ms. */
static int quiet(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, ms) == 0;
}

/* poll's revents for fd with events, waiting up to ms for any. */
static int revents(int fd, short events, int ms)
{
	struct pollfd p = { fd, events, 0 };

	if (poll(&p, 1, ms) < 0)
		return -1;
	return p.revents;
}

/* A new pair: master (O_NOCTTY) and unlocked replica; 0 on success. */
static int new_pair(int *m, int *s, int replica_flags)
{
	*s = -1;
	*m = posix_openpt(O_RDWR | O_NOCTTY);
	if (*m < 0)
		return -1;
	if (grantpt(*m) || unlockpt(*m)) {
		close(*m);
		return -1;
	}
	*s = open(ptsname(*m), O_RDWR | replica_flags);
	if (*s < 0) {
		close(*m);
		return -1;
	}
	return 0;
}

static void setup_points(void)
{
	char name[64], path[64];
	struct stat st, mst;
	struct dirent *de;
	unsigned int n = 0;
	int m, s, lock, found = 0;
	DIR *d;

	m = posix_openpt(O_RDWR | O_NOCTTY);
	CHECK_TRUE("posix_openpt opens a master", m >= 0);
	need(m >= 0, "posix_openpt");
	CHECK("grantpt succeeds", grantpt(m), 0, 0);
	CHECK("TIOCGPTN gives the index", ioctl(m, TIOCGPTN, &n), 0, 0);
	snprintf(path, sizeof(path), "/dev/pts/%u", n);
	CHECK_TRUE("ptsname is /dev/pts/N with TIOCGPTN's N",
		   ptsname_r(m, name, sizeof(name)) == 0 &&
			   strcmp(name, path) == 0);
	CHECK_ERR("the replica does not open while locked",
		  open(name, O_RDWR | O_NOCTTY), EIO);
	lock = 1;
	CHECK("TIOCSPTLCK 1 keeps it locked", ioctl(m, TIOCSPTLCK, &lock), 0,
	      0);
	CHECK_ERR("still EIO while locked", open(name, O_RDWR | O_NOCTTY),
		  EIO);
	CHECK("unlockpt succeeds", unlockpt(m), 0, 0);
	s = open(name, O_RDWR | O_NOCTTY);
	CHECK_TRUE("the replica opens once unlocked", s >= 0);
	need(s >= 0, "open replica");
	CHECK_TRUE("the replica is char 136:N",
		   fstat(s, &st) == 0 && S_ISCHR(st.st_mode) &&
			   major(st.st_rdev) == 136 && minor(st.st_rdev) == n);
	CHECK_TRUE("stat of /dev/pts/N is the same node",
		   stat(name, &mst) == 0 && mst.st_ino == st.st_ino &&
			   mst.st_rdev == st.st_rdev);
	CHECK_TRUE("the master is char 5:2",
		   fstat(m, &mst) == 0 && S_ISCHR(mst.st_mode) &&
			   major(mst.st_rdev) == 5 && minor(mst.st_rdev) == 2);
	CHECK_TRUE("/dev/pts/ptmx is char 5:2",
		   stat("/dev/pts/ptmx", &mst) == 0 && S_ISCHR(mst.st_mode) &&
			   mst.st_rdev == makedev(5, 2));
	d = opendir("/dev/pts");
	while (d && (de = readdir(d)))
		found |= strcmp(de->d_name, name + 9) == 0;
	if (d)
		closedir(d);
	CHECK_TRUE("readdir of /dev/pts lists N", found);
	CHECK_TRUE("both ends are terminals", isatty(m) && isatty(s));
	CHECK_TRUE("ttyname of the replica is its /dev/pts name",
		   ttyname(s) && strcmp(ttyname(s), name) == 0);
	CHECK_ERR("TIOCGPTN on the replica gives ENOTTY",
		  ioctl(s, TIOCGPTN, &n), ENOTTY);
	CHECK_ERR("TIOCSPTLCK on the replica gives ENOTTY",
		  ioctl(s, TIOCSPTLCK, &lock), ENOTTY);
	close(s);
	CHECK_TRUE("/dev/pts/N stays while the master is open",
		   stat(name, &mst) == 0 && mst.st_rdev == st.st_rdev);
	close(m);

	CHECK("openpty succeeds", openpty(&m, &s, name, NULL, NULL), 0, 0);
	CHECK_TRUE("openpty's replica is named under /dev/pts",
		   strncmp(name, "/dev/pts/", 9) == 0 && isatty(s));
	CHECK_TRUE("openpty's pair carries data",
		   write(s, "z", 1) == 1 && got(m, "z", 1));
	close(s);
	close(m);
}

static void termios_points(void)
{
	struct termios t;
	struct winsize ws = { 24, 80, 0, 0 }, ws2;
	int m, s, v;

	need(new_pair(&m, &s, O_NOCTTY) == 0, "new pair");
	CHECK("tcgetattr on the replica", tcgetattr(s, &t), 0, 0);
	CHECK_TRUE("a new pty is canonical with echo and signals",
		   (t.c_lflag & (ICANON | ECHO | ISIG | ECHOE | ECHOK |
				 ECHOCTL | ECHOKE | IEXTEN)) ==
			   (ICANON | ECHO | ISIG | ECHOE | ECHOK | ECHOCTL |
			    ECHOKE | IEXTEN));
	CHECK_TRUE("input maps CR to NL, output NL to CR NL",
		   (t.c_iflag & (ICRNL | IXON)) == (ICRNL | IXON) &&
			   (t.c_oflag & (OPOST | ONLCR)) == (OPOST | ONLCR));
	CHECK_TRUE("CS8 CREAD at 38400 baud",
		   (t.c_cflag & (CSIZE | CREAD)) == (CS8 | CREAD) &&
			   cfgetospeed(&t) == B38400);
	CHECK_TRUE("the control characters are ^C ^\\ DEL ^U ^D ^Z",
		   t.c_cc[VINTR] == 3 && t.c_cc[VQUIT] == 28 &&
			   t.c_cc[VERASE] == 127 && t.c_cc[VKILL] == 21 &&
			   t.c_cc[VEOF] == 4 && t.c_cc[VSUSP] == 26 &&
			   t.c_cc[VMIN] == 1 && t.c_cc[VTIME] == 0);
	CHECK_TRUE("the master reports the replica's settings",
		   tcgetattr(m, &t) == 0 && (t.c_lflag & ICANON));
	{
		unsigned char t2[44];
		unsigned int isp, osp;

		CHECK("TCGETS2", syscall(SYS_ioctl, s, TCGETS2_, t2), 0, 0);
		memcpy(&isp, t2 + 36, 4);
		memcpy(&osp, t2 + 40, 4);
		CHECK_TRUE("termios2 reports 38400 both ways",
			   isp == 38400 && osp == 38400);
	}
	CHECK("TIOCSWINSZ on the master", ioctl(m, TIOCSWINSZ, &ws), 0, 0);
	CHECK_TRUE("TIOCGWINSZ on the replica sees it",
		   ioctl(s, TIOCGWINSZ, &ws2) == 0 && ws2.ws_row == 24 &&
			   ws2.ws_col == 80);
	CHECK_ERR("TIOCGPGRP on a replica that is not our terminal gives ENOTTY",
		  ioctl(s, TIOCGPGRP, &v), ENOTTY);
	v = getpgrp();
	CHECK_ERR("TIOCSPGRP on it gives ENOTTY", ioctl(s, TIOCSPGRP, &v),
		  ENOTTY);
	CHECK_ERR("TIOCGSID on it gives ENOTTY", ioctl(s, TIOCGSID, &v),
		  ENOTTY);
	CHECK_ERR("TIOCNOTTY on it gives ENOTTY", ioctl(s, TIOCNOTTY), ENOTTY);
	CHECK("TIOCGPGRP on the master of a free pty gives 0",
	      ioctl(m, TIOCGPGRP, &v) == 0 ? v : -2, 0, 0);
	CHECK_ERR("TCGETS to a bad pointer gives EFAULT",
		  syscall(SYS_ioctl, s, TCGETS, BAD_PTR), EFAULT);
	CHECK_ERR("TCSETS from a bad pointer gives EFAULT",
		  syscall(SYS_ioctl, s, TCSETS, BAD_PTR), EFAULT);
	CHECK_ERR("TIOCGWINSZ to a bad pointer gives EFAULT",
		  syscall(SYS_ioctl, m, TIOCGWINSZ, BAD_PTR), EFAULT);
	CHECK_ERR("TCFLSH with a bad queue gives EINVAL",
		  ioctl(s, TCFLSH, 5), EINVAL);
	CHECK("tcflush TCIOFLUSH", tcflush(s, TCIOFLUSH), 0, 0);
	CHECK_ERR("TCXONC with a bad action gives EINVAL",
		  ioctl(m, TCXONC, 7), EINVAL);
	CHECK("tcflow TCOON is accepted", tcflow(s, TCOON), 0, 0);
	CHECK("tcdrain", tcdrain(s), 0, 0);
	CHECK("TIOCOUTQ", ioctl(s, TIOCOUTQ, &v), 0, 0);
	v = open("/dev/null", O_RDWR);
	CHECK_ERR("tcgetattr on /dev/null gives ENOTTY", tcgetattr(v, &t),
		  ENOTTY);
	CHECK_ERR("TIOCGPTN on /dev/null gives ENOTTY",
		  ioctl(v, TIOCGPTN, &s), ENOTTY);
	close(v);
	CHECK_ERR("tcgetattr on a closed fd gives EBADF", tcgetattr(v, &t),
		  EBADF);
	close(s);
	close(m);
}

static void ldisc_points(void)
{
	struct termios t;
	char buf[64];
	int m, s, n;

	need(new_pair(&m, &s, O_NOCTTY) == 0, "new pair");
	CHECK("write of a partial line to the master", write(m, "ab", 2), 2,
	      0);
	CHECK_TRUE("it is echoed on the master", got(m, "ab", 2));
	CHECK_TRUE("the replica sees no line yet", quiet(s, 50));
	CHECK("write of CR ends the line", write(m, "c\r", 2), 2, 0);
	CHECK_TRUE("the echo ends in CR NL", got(m, "c\r\n", 3));
	CHECK_TRUE("the replica reads the line with NL",
		   got(s, "abc\n", 4));
	CHECK("write with erase and a control character",
	      write(m, "x\001y\177\177\n", 6), 6, 0);
	CHECK_TRUE("the echo shows ^A and erases two columns for it",
		   got(m, "x^Ay\b \b\b \b\b \b\r\n", 15));
	CHECK_TRUE("the erased characters are gone from the line",
		   got(s, "x\n", 2));
	CHECK("write with a kill", write(m, "ab\025cd\n", 6), 6, 0);
	CHECK_TRUE("the kill erases the line on the master",
		   got(m, "ab\b \b\b \bcd\r\n", 12));
	CHECK_TRUE("only what followed the kill is read", got(s, "cd\n", 3));
	CHECK("write of EOF on an empty line", write(m, "\004", 1), 1, 0);
	CHECK_TRUE("the replica becomes readable", revents(s, POLLIN, WAIT_MS) == POLLIN);
	CHECK("and reads end of file", read(s, buf, sizeof(buf)), 0, 0);
	CHECK("write of a line ended by EOF", write(m, "hi\004", 3), 3, 0);
	CHECK_TRUE("is read without the EOF", got(s, "hi", 2));
	CHECK_TRUE("the master drains the echo", got(m, "hi", 2));
	CHECK("replica write of a NL", write(s, "a\n", 2), 2, 0);
	CHECK_TRUE("the master reads CR NL (ONLCR)", got(m, "a\r\n", 3));
	CHECK("replica write of 3 bytes", write(s, "xyz", 3), 3, 0);
	CHECK_TRUE("the master polls readable",
		   revents(m, POLLIN | POLLOUT, WAIT_MS) == (POLLIN | POLLOUT));
	n = -1;
	ioctl(m, FIONREAD, &n);
	CHECK_EQ("FIONREAD on the master counts them", n, 3);
	CHECK_TRUE("the master reads them", got(m, "xyz", 3));
	{
		struct epoll_event ev = { .events = EPOLLIN };
		int ep = epoll_create1(EPOLL_CLOEXEC);

		epoll_ctl(ep, EPOLL_CTL_ADD, m, &ev);
		CHECK("epoll on the master: nothing ready",
		      epoll_wait(ep, &ev, 1, 0), 0, 0);
		CHECK("the replica writes", write(s, "e", 1), 1, 0);
		CHECK("epoll_wait wakes for it", epoll_wait(ep, &ev, 1, WAIT_MS),
		      1, 0);
		CHECK_TRUE("and the master reads it", got(m, "e", 1));
		close(ep);
	}

	need(tcgetattr(s, &t) == 0, "tcgetattr");
	cfmakeraw(&t);
	CHECK("tcsetattr raw (TCSAFLUSH)", tcsetattr(s, TCSAFLUSH, &t), 0, 0);
	CHECK_TRUE("tcgetattr shows raw mode",
		   tcgetattr(s, &t) == 0 && !(t.c_lflag & (ICANON | ECHO)) &&
			   !(t.c_oflag & OPOST));
	CHECK("write of one byte in raw mode", write(m, "q\r", 2), 2, 0);
	CHECK_TRUE("the replica reads the bytes unchanged", got(s, "q\r", 2));
	CHECK_TRUE("with no echo", quiet(m, 50));
	CHECK("replica write of a NL in raw mode", write(s, "b\n", 2), 2, 0);
	CHECK_TRUE("reaches the master unchanged", got(m, "b\n", 2));
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	CHECK("tcsetattr VMIN 0 VTIME 0", tcsetattr(s, TCSANOW, &t), 0, 0);
	CHECK("a read with nothing there returns 0", read(s, buf, sizeof(buf)),
	      0, 0);
	t.c_cc[VTIME] = 1;
	CHECK("tcsetattr VMIN 0 VTIME 1", tcsetattr(s, TCSANOW, &t), 0, 0);
	CHECK("a read times out with 0", read(s, buf, sizeof(buf)), 0, 0);
	t.c_lflag |= ECHO | ECHOCTL;
	t.c_oflag |= OPOST | ONLCR;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	CHECK("tcsetattr raw with echo", tcsetattr(s, TCSANOW, &t), 0, 0);
	CHECK("write of a control character", write(m, "\002", 1), 1, 0);
	CHECK_TRUE("is echoed as ^B", got(m, "^B", 2));
	CHECK_TRUE("and read as itself", got(s, "\002", 1));
	close(s);
	close(m);
}

static void hangup_points(void)
{
	char buf[16];
	int m, s;

	need(new_pair(&m, &s, O_NOCTTY) == 0, "new pair");
	CHECK("replica writes a line", write(s, "hi\n", 3), 3, 0);
	close(s);
	CHECK_TRUE("the master polls POLLHUP once the replica closed",
		   revents(m, POLLIN, WAIT_MS) & POLLHUP);
	CHECK_TRUE("the master still reads what was written",
		   got(m, "hi\r\n", 4));
	CHECK_ERR("then reads fail with EIO", read(m, buf, sizeof(buf)), EIO);
	close(m);

	need(new_pair(&m, &s, O_NOCTTY) == 0, "new pair");
	close(m);
	CHECK_TRUE("the replica polls POLLHUP once the master closed",
		   revents(s, POLLIN, WAIT_MS) & POLLHUP);
	CHECK("its reads return end of file", read(s, buf, sizeof(buf)), 0, 0);
	CHECK_ERR("its writes fail with EIO", write(s, "x", 1), EIO);
	close(s);
}

/* ---- children: controlling terminals and signals ----------------------- */

static volatile sig_atomic_t got_sig;

static void on_sig(int sig)
{
	got_sig = sig;
}

struct pair {
	int m, s;
	char name[64];
};

static void ctty_scenario(void *arg)
{
	struct pair *p = arg;
	pid_t me;
	int fd, v = 0;

	S_CHECK_ERR("TIOCSCTTY outside a session leader gives EPERM",
		    ioctl(p->s, TIOCSCTTY, 0), EPERM);
	me = setsid();
	S_CHECK_OKV("setsid", me, v);
	S_CHECK_ERR("/dev/tty gives ENXIO without a controlling terminal",
		    open("/dev/tty", O_RDWR), ENXIO);
	fd = open(p->name, O_RDWR);
	S_TRUE("a session leader opening the replica", fd >= 0);
	S_CHECK("takes it as controlling terminal (TIOCGSID)",
		ioctl(fd, TIOCGSID, &v) == 0 ? v : -2, me, 0);
	S_CHECK("its group is the foreground one (TIOCGPGRP)",
		ioctl(p->s, TIOCGPGRP, &v) == 0 ? v : -2, me, 0);
	S_CHECK("the master reports the same group",
		ioctl(p->m, TIOCGPGRP, &v) == 0 ? v : -2, me, 0);
	fd = open("/dev/tty", O_RDWR);
	S_TRUE("/dev/tty opens", fd >= 0);
	S_TRUE("and writes to the pty",
	       write(fd, "t", 1) == 1 && got(p->m, "t", 1));
	v = -5;
	S_CHECK_ERR("TIOCSPGRP of a negative group gives EINVAL",
		    ioctl(p->s, TIOCSPGRP, &v), EINVAL);
	v = getpgid(getppid());
	S_CHECK_ERR("TIOCSPGRP of another session's group gives EPERM",
		    ioctl(p->s, TIOCSPGRP, &v), EPERM);
	v = 0x3ffffff0;
	S_CHECK_ERR("TIOCSPGRP of no group gives ESRCH",
		    ioctl(p->s, TIOCSPGRP, &v), ESRCH);
	v = me;
	S_CHECK("TIOCSPGRP of our own group", ioctl(p->s, TIOCSPGRP, &v), 0,
		0);
	S_CHECK("TIOCSCTTY of our own terminal is a no-op",
		ioctl(p->s, TIOCSCTTY, 0), 0, 0);
}

/* A session leader with the replica as controlling terminal: reports ready
 * on `ready`, then waits for SIGINT in a read. */
static void isig_scenario(void *arg)
{
	struct pair *p = arg;
	struct winsize ws = { 40, 100, 0, 0 };
	struct sigaction sa;
	long long start;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	S_CHECK_OK("setsid", setsid());
	S_CHECK("TIOCSCTTY on the replica", ioctl(p->s, TIOCSCTTY, 0), 0, 0);
	S_CHECK("write of a partial line", write(p->m, "ab", 2), 2, 0);
	S_TRUE("the master sees its echo", got(p->m, "ab", 2));
	S_CHECK("write of ^C to the master", write(p->m, "\003", 1), 1, 0);
	S_TRUE("the master sees ^C echoed", got(p->m, "^C", 2));
	start = now_ns();
	while (!got_sig && ms_since(start) < WAIT_MS)
		sleep_ms(5);
	S_EQ("SIGINT reaches the foreground group", got_sig, SIGINT);
	S_TRUE("the replica has nothing to read", quiet(p->s, 50));
	S_CHECK("the partial line was flushed: a new line reads alone",
		write(p->m, "z\n", 2) == 2 && got(p->s, "z\n", 2), 1, 0);
	got_sig = 0;
	S_CHECK("TIOCSWINSZ with a new size", ioctl(p->m, TIOCSWINSZ, &ws), 0,
		0);
	start = now_ns();
	while (!got_sig && ms_since(start) < WAIT_MS)
		sleep_ms(5);
	S_EQ("sends SIGWINCH to the foreground group", got_sig, SIGWINCH);
}

/* What a background child of the terminal's session does. */
enum bg_action { BG_READ, BG_READ_IGN, BG_WRITE, BG_TCSETATTR, BG_TCSETATTR_IGN };

/* Runs action in a child in a new (background) process group; returns its
 * wait status (a stop is reported, then the child is killed), or -1. */
static int run_bg(struct pair *p, enum bg_action action)
{
	struct termios t;
	int st = 0, st2;
	pid_t pid;
	char c;

	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		switch (action) {
		case BG_READ:
			_exit(read(p->s, &c, 1) == -1 ? errno : 0);
		case BG_READ_IGN:
			signal(SIGTTIN, SIG_IGN);
			_exit(read(p->s, &c, 1) == -1 ? errno : 0);
		case BG_WRITE:
			_exit(write(p->s, "w", 1) == 1 ? 0 : errno);
		case BG_TCSETATTR:
		case BG_TCSETATTR_IGN:
			if (action == BG_TCSETATTR_IGN)
				signal(SIGTTOU, SIG_IGN);
			tcgetattr(p->s, &t);
			_exit(tcsetattr(p->s, TCSANOW, &t) == 0 ? 0 : errno);
		}
		_exit(99);
	}
	if (pid < 0)
		return -1;
	if (wait_for(pid, &st, WUNTRACED, WAIT_MS) != pid) {
		kill_child(pid);
		wait_for(pid, &st, 0, WAIT_MS);
		return -1;
	}
	if (WIFSTOPPED(st)) {
		kill_child(pid);
		wait_for(pid, &st2, 0, WAIT_MS);
	}
	return st;
}

#define STOPPED(sig) (((sig) << 8) | 0x7f)

/* Background groups of the terminal's session: reads stop with SIGTTIN
 * (EIO when it is ignored), writes go through unless TOSTOP (then
 * SIGTTOU), terminal changes stop with SIGTTOU unless it is ignored. */
static void ttin_scenario(void *arg)
{
	struct pair *p = arg;
	struct termios t;

	S_CHECK_OK("setsid", setsid());
	S_CHECK("TIOCSCTTY on the replica", ioctl(p->s, TIOCSCTTY, 0), 0, 0);
	S_STATUS("a background read stops with SIGTTIN", run_bg(p, BG_READ),
		 STOPPED(SIGTTIN));
	S_STATUS("with SIGTTIN ignored it fails with EIO",
		 run_bg(p, BG_READ_IGN), EXITED(EIO));
	S_STATUS("a background write goes through", run_bg(p, BG_WRITE),
		 EXITED(0));
	S_TRUE("and reaches the master", got(p->m, "w", 1));
	S_STATUS("a background tcsetattr stops with SIGTTOU",
		 run_bg(p, BG_TCSETATTR), STOPPED(SIGTTOU));
	S_STATUS("with SIGTTOU ignored it goes through",
		 run_bg(p, BG_TCSETATTR_IGN), EXITED(0));
	tcgetattr(p->s, &t);
	t.c_lflag |= TOSTOP;
	S_CHECK("the foreground group sets TOSTOP", tcsetattr(p->s, TCSANOW, &t),
		0, 0);
	S_STATUS("then a background write stops with SIGTTOU",
		 run_bg(p, BG_WRITE), STOPPED(SIGTTOU));
}

/* A session leader with a controlling terminal ends: a member of its
 * session in the foreground group gets SIGHUP and loses the terminal. */
static void leader_exit_scenario(void *arg)
{
	struct pair *p = arg;
	struct sigaction sa;
	int go[2], done[2], fd;
	long long start;
	pid_t a, b;
	char c;

	if (pipe(go) || pipe(done)) {
		S_TRUE("pipes", 0);
		return;
	}
	a = fork();
	if (a == 0) {
		setsid();
		ioctl(p->s, TIOCSCTTY, 0);
		b = fork();
		if (b == 0) {
			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = on_sig;
			sigaction(SIGHUP, &sa, NULL);
			close(go[0]);
			close(done[0]);
			fd = open("/dev/tty", O_RDWR);
			S_TRUE("a member of the session opens /dev/tty", fd >= 0);
			close(fd);
			close(go[1]); /* the leader may go */
			start = now_ns();
			while ((getppid() == a || !got_sig) &&
			       ms_since(start) < WAIT_MS)
				sleep_ms(5);
			S_EQ("it gets SIGHUP when the leader ends", got_sig,
			     SIGHUP);
			S_CHECK_ERR("then /dev/tty gives ENXIO",
				    open("/dev/tty", O_RDWR), ENXIO);
			_exit(0);
		}
		close(go[1]);
		read_timeout(go[0], &c, 1, WAIT_MS);
		_exit(0);
	}
	close(go[0]);
	close(go[1]);
	close(done[1]);
	/* The member holds done's write end until it exits. */
	read_timeout(done[0], &c, 1, 2 * WAIT_MS);
	close(done[0]);
	if (a > 0)
		reap(a, &fd, WAIT_MS);
}

static void child_points(void)
{
	struct pair p;

	need(new_pair(&p.m, &p.s, O_NOCTTY) == 0, "new pair");
	need(ptsname_r(p.m, p.name, sizeof(p.name)) == 0, "ptsname_r");
	scenario("controlling terminal", 14, ctty_scenario, &p);
	close(p.s);
	close(p.m);

	need(new_pair(&p.m, &p.s, O_NOCTTY) == 0, "new pair");
	scenario("signals from the terminal", 11, isig_scenario, &p);
	close(p.s);
	close(p.m);

	need(new_pair(&p.m, &p.s, O_NOCTTY) == 0, "new pair");
	scenario_ms("background groups", 10, ttin_scenario, &p, 3 * WAIT_MS);
	close(p.s);
	close(p.m);

	need(new_pair(&p.m, &p.s, O_NOCTTY) == 0, "new pair");
	scenario_ms("session leader exit", 3, leader_exit_scenario, &p,
		    3 * WAIT_MS);
	close(p.s);
	close(p.m);
}

int main(void)
{
	plan(22 + 27 + 43 + 7 + 14 + 11 + 10 + 3);
	signal(SIGPIPE, SIG_IGN);
	setup_points();
	termios_points();
	ldisc_points();
	hangup_points();
	child_points();
	return done();
}
