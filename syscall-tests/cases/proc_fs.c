/* procfs: /proc/self/{stat,status,cmdline,comm,environ,maps,exe,cwd,fd,
 * fdinfo,task} and the /proc/self and /proc/thread-self links checked
 * against what the process knows about itself; /proc/{meminfo,cpuinfo,
 * stat,uptime,loadavg,filesystems,mounts,version} and a few /proc/sys files
 * for their key fields; the /proc listing. Only relations are compared,
 * never the values themselves. The thread count check runs in a child. */
#include "tap.h"
#include "proc.h"

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/utsname.h>

extern char **environ;

static char buf[1 << 18];
static char comm[16];
static char exe[PATH_MAX];

/* The value after "key" at the start of a line of /proc/.../status-like
 * text (spaces and tabs skipped), or NULL. */
static const char *field(const char *text, const char *key)
{
	size_t len = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, key, len) == 0) {
			p += len;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

static long field_long(const char *text, const char *key)
{
	const char *p = field(text, key);

	return p ? strtol(p, NULL, 10) : LONG_MIN;
}

/* The number of entries (other than . and ..) in a directory, or -1; when
 * want >= 0, *found says whether an entry named want (a number) is there. */
static int count_dir(const char *path, long want, int *found)
{
	struct dirent *d;
	char num[32];
	DIR *dir;
	int n = 0;

	snprintf(num, sizeof(num), "%ld", want);
	if (found)
		*found = 0;
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		n++;
		if (found && strcmp(d->d_name, num) == 0)
			*found = 1;
	}
	closedir(dir);
	return n;
}

static int has_entry(const char *path, long want)
{
	int found;

	return count_dir(path, want, &found) >= 0 && found;
}

/* ---- /proc/self/stat and status ------------------------------------------ */

static void stat_points(void)
{
	char state = 0, *close_paren, *open_paren, *p;
	long pid = -1, ppid = -1, pgrp = -1, session = -1, nthreads = -1;
	char name[64] = "";
	int nfields = 0;
	long len;

	len = slurp("/proc/self/stat", buf, sizeof(buf));
	CHECK_TRUE("/proc/self/stat is readable", len > 0);
	open_paren = len > 0 ? strchr(buf, '(') : NULL;
	close_paren = len > 0 ? strrchr(buf, ')') : NULL;
	if (open_paren && close_paren && close_paren > open_paren &&
	    close_paren - open_paren - 1 < (long)sizeof(name)) {
		pid = strtol(buf, NULL, 10);
		memcpy(name, open_paren + 1, close_paren - open_paren - 1);
		name[close_paren - open_paren - 1] = '\0';
		nfields = 2;
		for (p = close_paren + 1; *p && *p != '\n';) {
			while (*p == ' ')
				p++;
			if (!*p || *p == '\n')
				break;
			nfields++;
			if (nfields == 3)
				state = *p;
			else if (nfields == 4)
				ppid = strtol(p, NULL, 10);
			else if (nfields == 5)
				pgrp = strtol(p, NULL, 10);
			else if (nfields == 6)
				session = strtol(p, NULL, 10);
			else if (nfields == 20)
				nthreads = strtol(p, NULL, 10);
			while (*p && *p != ' ' && *p != '\n')
				p++;
		}
	}
	CHECK_EQ("its pid field is getpid()", pid, getpid());
	okf(strcmp(name, comm) == 0,
	    "its comm field is the program's name, cut to 15 characters",
	    "got (%s)", name);
	okf(state == 'R', "its state is R (we are running)", "got %c",
	    state ? state : '?');
	CHECK_TRUE("its ppid, pgrp and session fields match getppid, getpgrp, getsid",
		   ppid == getppid() && pgrp == getpgrp() &&
			   session == getsid(0));
	CHECK_EQ("its num_threads field is 1", nthreads, 1);
	CHECK_EQ("it has 52 fields", nfields, 52);
}

static void status_points(void)
{
	const char *p;
	char name[64] = "";
	long uid[4] = { -1, -1, -1, -1 };
	unsigned long long blk = 0;
	sigset_t set;
	long len;

	len = slurp("/proc/self/status", buf, sizeof(buf));
	CHECK_TRUE("/proc/self/status is readable", len > 0);
	p = field(buf, "Name:");
	if (p)
		sscanf(p, "%63[^\n]", name);
	okf(strcmp(name, comm) == 0, "its Name: is the program's name",
	    "got %s", name);
	CHECK_TRUE("its Pid: and Tgid: are getpid()",
		   field_long(buf, "Pid:") == getpid() &&
			   field_long(buf, "Tgid:") == getpid());
	CHECK_EQ("its PPid: is getppid()", field_long(buf, "PPid:"),
		 getppid());
	p = field(buf, "Uid:");
	if (p)
		sscanf(p, "%ld %ld %ld %ld", &uid[0], &uid[1], &uid[2], &uid[3]);
	CHECK_TRUE("its Uid: line has the real, effective, saved and fs uid",
		   uid[0] == getuid() && uid[1] == geteuid() &&
			   uid[2] == geteuid() && uid[3] == geteuid());
	CHECK_EQ("its Threads: is 1", field_long(buf, "Threads:"), 1);

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	slurp("/proc/self/status", buf, sizeof(buf));
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	p = field(buf, "SigBlk:");
	if (p)
		blk = strtoull(p, NULL, 16);
	okf(p && (blk & (1ULL << (SIGUSR1 - 1))),
	    "SigBlk: shows a blocked SIGUSR1", "SigBlk %s",
	    p ? "lacks it" : "missing");
}

/* ---- cmdline, comm, environ ----------------------------------------------- */

static void cmdline_points(int argc, char **argv)
{
	static char want[1 << 16];
	char name[32];
	size_t wlen = 0, n;
	long len;
	int i;

	for (i = 0; i < argc; i++) {
		n = strlen(argv[i]) + 1;
		if (wlen + n > sizeof(want))
			break;
		memcpy(want + wlen, argv[i], n);
		wlen += n;
	}
	len = slurp("/proc/self/cmdline", buf, sizeof(buf));
	CHECK_TRUE("/proc/self/cmdline is argv joined by NULs",
		   len == (long)wlen && memcmp(buf, want, wlen) == 0);

	len = slurp("/proc/self/comm", buf, sizeof(buf));
	okf(len == (long)strlen(comm) + 1 && strncmp(buf, comm, strlen(comm)) == 0 &&
		    buf[len - 1] == '\n',
	    "/proc/self/comm is the program's name and a newline", "got %s",
	    len > 0 ? buf : "nothing");
	prctl(PR_GET_NAME, name, 0, 0, 0);
	prctl(PR_SET_NAME, "ward-renamed", 0, 0, 0);
	len = slurp("/proc/self/comm", buf, sizeof(buf));
	prctl(PR_SET_NAME, name, 0, 0, 0);
	CHECK_TRUE("/proc/self/comm follows PR_SET_NAME",
		   len > 0 && strcmp(buf, "ward-renamed\n") == 0);

	wlen = 0;
	for (i = 0; environ && environ[i]; i++) {
		n = strlen(environ[i]) + 1;
		if (wlen + n > sizeof(want))
			break;
		memcpy(want + wlen, environ[i], n);
		wlen += n;
	}
	len = slurp("/proc/self/environ", buf, sizeof(buf));
	CHECK_TRUE("/proc/self/environ is the environment joined by NULs",
		   len == (long)wlen && memcmp(buf, want, wlen) == 0);
}

/* ---- maps, exe, cwd --------------------------------------------------------- */

static void maps_points(void)
{
	unsigned long start, end, off, inode, stack_lo = 0, stack_hi = 0;
	unsigned int major, minor;
	int bad = 0, lines = 0, exe_x = 0, path_at;
	char perms[8], *line, *next;
	volatile char local = 0;
	char cwd[PATH_MAX], link[PATH_MAX];
	long len, n;

	len = slurp("/proc/self/maps", buf, sizeof(buf));
	CHECK_TRUE("/proc/self/maps is readable", len > 0);
	for (line = buf; len > 0 && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		lines++;
		path_at = 0;
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &start, &end,
			   perms, &off, &major, &minor, &inode, &path_at) < 7 ||
		    start >= end || strlen(perms) != 4) {
			bad++;
			continue;
		}
		if (path_at && strcmp(line + path_at, "[stack]") == 0) {
			stack_lo = start;
			stack_hi = end;
		}
		if (path_at && strcmp(line + path_at, exe) == 0 &&
		    perms[2] == 'x')
			exe_x = 1;
	}
	okf(lines > 0 && bad == 0,
	    "every maps line is \"start-end perms offset dev inode [path]\"",
	    "%d of %d lines do not parse", bad, lines);
	CHECK_TRUE("maps has a [stack] line", stack_hi > 0);
	CHECK_TRUE("the [stack] range holds a local variable",
		   (unsigned long)&local >= stack_lo &&
			   (unsigned long)&local < stack_hi);
	CHECK_TRUE("maps has an executable mapping of the program file", exe_x);

	n = readlink("/proc/self/exe", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	okf(n > 0 && strcmp(link, exe) == 0,
	    "/proc/self/exe resolves to the program's path", "got %s",
	    n > 0 ? "a different path" : tap_errname(errno));
	n = readlink("/proc/self/cwd", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	CHECK_TRUE("/proc/self/cwd resolves to getcwd()",
		   n > 0 && getcwd(cwd, sizeof(cwd)) &&
			   strcmp(link, cwd) == 0);
}

/* ---- fd, fdinfo, self links ------------------------------------------------- */

static void fd_points(void)
{
	char path[64], link[PATH_MAX], want[64];
	int fd, n;
	long len;

	CHECK_TRUE("/proc/self/fd lists 0, 1 and 2",
		   has_entry("/proc/self/fd", 0) &&
			   has_entry("/proc/self/fd", 1) &&
			   has_entry("/proc/self/fd", 2));
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK_TRUE("a freshly opened fd appears in /proc/self/fd",
		   fd >= 0 && has_entry("/proc/self/fd", fd));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = (int)readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	CHECK_TRUE("its link resolves to /dev/null",
		   n > 0 && strcmp(link, "/dev/null") == 0);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	len = slurp(path, buf, sizeof(buf));
	CHECK_TRUE("its fdinfo has pos: 0 and a flags: line",
		   len > 0 && field_long(buf, "pos:") == 0 &&
			   field(buf, "flags:") != NULL);
	/* A high number, so that opendir's own fd does not take its place. */
	n = fd >= 0 ? dup2(fd, 100) : -1;
	close(fd);
	if (n == 100)
		close(100);
	CHECK_TRUE("after close it is gone from /proc/self/fd",
		   n == 100 && has_entry("/proc/self/fd", 0) &&
			   !has_entry("/proc/self/fd", 100));

	n = (int)readlink("/proc/self", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "%d", getpid());
	CHECK_TRUE("/proc/self links to our pid",
		   n > 0 && strcmp(link, want) == 0);
	n = (int)readlink("/proc/thread-self", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "%d/task/%d", getpid(), tid_self());
	CHECK_TRUE("/proc/thread-self links to pid/task/tid",
		   n > 0 && strcmp(link, want) == 0);
	snprintf(path, sizeof(path), "/proc/%d/status", getpid());
	len = slurp(path, buf, sizeof(buf));
	CHECK_TRUE("/proc/<our pid>/status is ours",
		   len > 0 && field_long(buf, "Pid:") == getpid());
	CHECK_ERR("/proc/<nonexistent pid>/stat gives ENOENT",
		  open("/proc/1073741808/stat", O_RDONLY), ENOENT);
	CHECK_TRUE("/proc/self/task lists only our thread",
		   count_dir("/proc/self/task", 0, NULL) == 1 &&
			   has_entry("/proc/self/task", getpid()));
}

/* ---- task/ with threads (in a child) --------------------------------------- */

static volatile int release_threads;
static volatile pid_t thread_tids[3];

static void *parked(void *arg)
{
	long long start = now_ns();

	thread_tids[(long)arg] = tid_self();
	while (!release_threads && ms_since(start) < 2000)
		sleep_us(500);
	return NULL;
}

static void task_scenario(void *arg)
{
	static char sbuf[4096];
	pthread_t th[3];
	int i, started = 0, all = 1;
	long long start = now_ns();
	char path[64];
	long len;

	(void)arg;
	for (i = 0; i < 3; i++)
		if (pthread_create(&th[i], NULL, parked, (void *)(long)i) == 0)
			started++;
	while (ms_since(start) < 2000 &&
	       (!thread_tids[0] || !thread_tids[1] || !thread_tids[2]))
		sleep_us(200);
	S_EQ("with three more threads /proc/self/task has 4 entries",
	     count_dir("/proc/self/task", 0, NULL), started + 1);
	for (i = 0; i < 3; i++)
		if (!has_entry("/proc/self/task", thread_tids[i]))
			all = 0;
	S_TRUE("each thread's tid is listed", started == 3 && all);
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat",
		 thread_tids[0]);
	len = slurp(path, sbuf, sizeof(sbuf));
	S_TRUE("task/<tid>/stat of a thread names that tid",
	       len > 0 && strtol(sbuf, NULL, 10) == thread_tids[0]);
	len = slurp("/proc/self/status", sbuf, sizeof(sbuf));
	S_EQ("Threads: in /proc/self/status is 4",
	     len > 0 ? field_long(sbuf, "Threads:") : -1, 4);
	release_threads = 1;
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

/* ---- system-wide files ------------------------------------------------------ */

static void system_points(void)
{
	struct utsname u;
	double f[3];
	int a, b, c, has_root = 0, has_proc = 0, bad = 0;
	long len, total, freemem, v;
	char want[512], *line, *next, dev[256], dir[256], type[64];

	len = slurp("/proc/meminfo", buf, sizeof(buf));
	total = len > 0 ? field_long(buf, "MemTotal:") : -1;
	freemem = len > 0 ? field_long(buf, "MemFree:") : -1;
	okf(total > 0 && freemem >= 0 && freemem <= total &&
		    strstr(buf, " kB\n") != NULL,
	    "/proc/meminfo has MemTotal: and MemFree: in kB (free <= total)",
	    "MemTotal %s, MemFree %s", total > 0 ? "ok" : "missing",
	    freemem >= 0 ? "ok" : "missing");
	len = slurp("/proc/cpuinfo", buf, sizeof(buf));
	CHECK_TRUE("/proc/cpuinfo has a processor line",
		   len > 0 && field(buf, "processor") != NULL);
	len = slurp("/proc/stat", buf, sizeof(buf));
	CHECK_TRUE("/proc/stat starts with a cpu line of at least 4 counters",
		   len > 0 && strncmp(buf, "cpu ", 4) == 0 &&
			   sscanf(buf + 4, "%ld %ld %ld %ld", &v, &v, &v, &v) == 4);
	CHECK_TRUE("/proc/stat has btime and processes lines",
		   len > 0 && field_long(buf, "btime") > 0 &&
			   field_long(buf, "processes") > 0);
	len = slurp("/proc/uptime", buf, sizeof(buf));
	CHECK_TRUE("/proc/uptime is two non-negative numbers, uptime > 0",
		   len > 0 && sscanf(buf, "%lf %lf", &f[0], &f[1]) == 2 &&
			   f[0] > 0 && f[1] >= 0);
	len = slurp("/proc/loadavg", buf, sizeof(buf));
	CHECK_TRUE("/proc/loadavg is three loads, running/total and a pid",
		   len > 0 && sscanf(buf, "%lf %lf %lf %d/%d %d", &f[0], &f[1],
				     &f[2], &a, &b, &c) == 6 &&
			   a >= 1 && b >= a);
	len = slurp("/proc/filesystems", buf, sizeof(buf));
	CHECK_TRUE("/proc/filesystems lists proc",
		   len > 0 && strstr(buf, "\tproc\n") != NULL);

	len = slurp("/proc/mounts", buf, sizeof(buf));
	for (line = buf; len > 0 && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (sscanf(line, "%255s %255s %63s %*s %d %d", dev, dir, type,
			   &a, &b) != 5) {
			bad++;
			continue;
		}
		if (strcmp(dir, "/") == 0)
			has_root = 1;
		if (strcmp(dir, "/proc") == 0 && strcmp(type, "proc") == 0)
			has_proc = 1;
	}
	CHECK_TRUE("/proc/mounts lines have six fields and / is mounted",
		   len > 0 && bad == 0 && has_root);
	CHECK_TRUE("/proc/mounts shows proc on /proc", has_proc);
	len = slurp("/proc/version", buf, sizeof(buf));
	CHECK_TRUE("/proc/version starts with \"Linux version \"",
		   len > 0 && strncmp(buf, "Linux version ", 14) == 0);

	uname(&u);
	snprintf(want, sizeof(want), "%s\n", u.nodename);
	len = slurp("/proc/sys/kernel/hostname", buf, sizeof(buf));
	CHECK_TRUE("/proc/sys/kernel/hostname is uname's nodename",
		   len > 0 && strcmp(buf, want) == 0);
	snprintf(want, sizeof(want), "%s\n", u.release);
	len = slurp("/proc/sys/kernel/osrelease", buf, sizeof(buf));
	CHECK_TRUE("/proc/sys/kernel/osrelease is uname's release",
		   len > 0 && strcmp(buf, want) == 0);
	len = slurp("/proc/sys/kernel/pid_max", buf, sizeof(buf));
	CHECK_TRUE("/proc/sys/kernel/pid_max is a number above our pid",
		   len > 0 && strtol(buf, NULL, 10) > getpid() &&
			   strtol(buf, NULL, 10) >= 301);
	len = slurp("/proc/sys/kernel/ngroups_max", buf, sizeof(buf));
	CHECK_TRUE("/proc/sys/kernel/ngroups_max is 65536",
		   len > 0 && strcmp(buf, "65536\n") == 0);
	len = slurp("/proc/sys/vm/overcommit_memory", buf, sizeof(buf));
	CHECK_TRUE("/proc/sys/vm/overcommit_memory is 0, 1 or 2",
		   len == 2 && buf[0] >= '0' && buf[0] <= '2' &&
			   buf[1] == '\n');
}

static void listing_points(void)
{
	static char sbuf[4096];
	struct dirent *d;
	char path[300];
	int pids = 0, unreadable = 0, self_seen = 0;
	DIR *dir;
	char *end;
	long pid;

	dir = opendir("/proc");
	while (dir && (d = readdir(dir)) != NULL) {
		pid = strtol(d->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		pids++;
		if (pid == getpid())
			self_seen = 1;
		snprintf(path, sizeof(path), "/proc/%s/status", d->d_name);
		/* A process may exit between readdir and open. */
		if (slurp(path, sbuf, sizeof(sbuf)) < 0 && errno != ENOENT &&
		    errno != ESRCH)
			unreadable++;
	}
	if (dir)
		closedir(dir);
	CHECK_TRUE("the /proc listing includes our pid", self_seen);
	okf(pids > 0 && unreadable == 0,
	    "every pid listed in /proc has a readable status",
	    "%d of %d unreadable", unreadable, pids);
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');

	base = base ? base + 1 : argv[0];
	snprintf(comm, sizeof(comm), "%s", base);
	if (!realpath(argv[0], exe))
		snprintf(exe, sizeof(exe), "%s", argv[0]);

	plan(56);

	stat_points();             /* 7 */
	status_points();           /* 7 */
	cmdline_points(argc, argv); /* 4 */
	maps_points();             /* 7 */
	fd_points();               /* 10 */
	scenario("task", 4, task_scenario, NULL);
	system_points();           /* 15 */
	listing_points();          /* 2 */
	return done();
}
