/* Process groups and sessions: getpgrp(2), getpgid(2), setpgid(2),
 * getsid(2), setsid(2) with their errors; prctl(2) PR_SET_NAME/PR_GET_NAME,
 * PR_SET_PDEATHSIG/PR_GET_PDEATHSIG (and the signal itself),
 * PR_GET_DUMPABLE/PR_SET_DUMPABLE; getpriority(2)/setpriority(2)/nice;
 * sched_setaffinity(2)/sched_getaffinity(2); the working directory across
 * fork and exec (chdir, fchdir, getcwd). Anything that changes the process
 * runs in a forked child under a deadline, so the main process keeps its
 * group, session, name, niceness, affinity and cwd. */
#include "tap.h"
#include "proc.h"

#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#define NO_PID 0x3ffffff0

static const char *self;

/* Forks a child that waits (at most 5 s) for its gate to close, then exits
 * 0. Returns the pid; *gate is the write end. */
static pid_t gated_child(int *gate)
{
	int g[2];
	pid_t pid;
	char c;

	*gate = -1;
	if (pipe2(g, O_CLOEXEC) == -1)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(g[1]);
		read_timeout(g[0], &c, 1, 5000);
		_exit(0);
	}
	close(g[0]);
	if (pid == -1)
		close(g[1]);
	else
		*gate = g[1];
	return pid;
}

static void end_child(pid_t pid, int *gate)
{
	int st;

	if (*gate >= 0)
		close(*gate);
	*gate = -1;
	if (pid > 0)
		reap(pid, &st, 3000);
}

/* ---- the main process: reads and errors only ---------------------------- */

static void main_points(void)
{
	CHECK_EQ("getpgrp equals getpgid(0)", getpgrp(), getpgid(0));
	CHECK_EQ("getpgid(getpid()) equals getpgrp", getpgid(getpid()),
		 getpgrp());
	CHECK_ERR("getpgid of a nonexistent pid gives ESRCH", getpgid(NO_PID),
		  ESRCH);
	CHECK_TRUE("getsid(0) equals getsid(getpid()) and is not negative",
		   getsid(0) >= 0 && getsid(0) == getsid(getpid()));
	CHECK_ERR("getsid of a nonexistent pid gives ESRCH", getsid(NO_PID),
		  ESRCH);
	CHECK_ERR("setpgid with a negative pgid gives EINVAL", setpgid(0, -1),
		  EINVAL);
	CHECK_ERR("setpgid of a pid that is neither us nor a child gives ESRCH",
		  setpgid(NO_PID, 0), ESRCH);
}

/* ---- process groups -------------------------------------------------------- */

static void pgrp_scenario(void *arg)
{
	pid_t parent_pgrp = *(pid_t *)arg, pid, sh;
	char *sh_argv[] = { "sh", "-c", "read x", NULL };
	char *no_env[] = { NULL };
	int gate, stdin_pipe[2], exec_pipe[2], st;
	char c;

	S_EQ("a child starts in its parent's process group", getpgrp(),
	     parent_pgrp);
	S_CHECK("setpgid(0, 0) makes it a group leader", setpgid(0, 0), 0, 0);
	S_EQ("its group id is now its pid", getpgrp(), getpid());
	S_CHECK_ERR("setsid in a group leader gives EPERM", setsid(), EPERM);
	S_CHECK("kill(-pgrp, 0) reaches our own group",
		getpgrp() == getpid() ? kill(-getpgrp(), 0) : -2, 0, 0);

	pid = gated_child(&gate);
	S_EQ("a new child inherits the group", pid > 0 ? getpgid(pid) : -1,
	     getpid());
	S_CHECK("the parent can move the child into a group of its own",
		pid > 0 ? setpgid(pid, pid) : -2, 0, 0);
	S_EQ("getpgid sees the child's new group", pid > 0 ? getpgid(pid) : -1,
	     pid);
	S_CHECK("and can move it back into the parent's group",
		pid > 0 ? setpgid(pid, getpgrp()) : -2, 0, 0);
	S_CHECK_ERR("setpgid into a nonexistent group gives EPERM",
		    setpgid(0, NO_PID), EPERM);
	end_child(pid, &gate);

	/* A child that has exec'd: its CLOEXEC pipe closes at the exec. */
	sh = -1;
	if (pipe2(stdin_pipe, O_CLOEXEC) == 0 &&
	    pipe2(exec_pipe, O_CLOEXEC) == 0) {
		sh = fork();
		if (sh == 0) {
			dup2(stdin_pipe[0], 0);
			execve("/bin/sh", sh_argv, no_env);
			_exit(127);
		}
		close(stdin_pipe[0]);
		close(exec_pipe[1]);
		read_timeout(exec_pipe[0], &c, 1, 3000);
		close(exec_pipe[0]);
	}
	S_CHECK_ERR("setpgid on a child that has exec'd gives EACCES",
		    sh > 0 ? setpgid(sh, sh) : -2, EACCES);
	gate = sh > 0 ? stdin_pipe[1] : -1;
	end_child(sh, &gate);
	(void)st;
}

struct session_report {
	long setsid_ret, sid, pgrp, pid;
	long setpgid_ret, setpgid_errno;
	long leader_ret, leader_errno;
};

static void session_scenario(void *arg)
{
	struct session_report r;
	int p[2], g[2], st;
	pid_t pid, old_pgrp = getpgrp();
	long n = 0;
	char c;

	(void)arg;
	memset(&r, 0, sizeof(r));
	if (pipe2(p, O_CLOEXEC) == -1 || pipe2(g, O_CLOEXEC) == -1)
		return;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		close(g[1]);
		r.setsid_ret = setsid();
		r.sid = getsid(0);
		r.pgrp = getpgrp();
		r.pid = getpid();
		errno = 0;
		r.setpgid_ret = setpgid(0, old_pgrp);
		r.setpgid_errno = errno;
		errno = 0;
		r.leader_ret = setpgid(0, 0);
		r.leader_errno = errno;
		if (write(p[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		read_timeout(g[0], &c, 1, 5000);
		_exit(0);
	}
	close(p[1]);
	close(g[0]);
	if (pid > 0)
		n = read_timeout(p[0], &r, sizeof(r), 3000);
	S_TRUE("setsid in a child that leads no group returns its pid",
	       n == sizeof(r) && r.setsid_ret == r.pid && r.pid == pid);
	S_TRUE("getsid(0) in the new session is the child's pid",
	       n == sizeof(r) && r.sid == pid);
	S_TRUE("setsid also made a new process group led by the child",
	       n == sizeof(r) && r.pgrp == pid);
	S_TRUE("setpgid into a group of the old session gives EPERM",
	       n == sizeof(r) && r.setpgid_ret == -1 &&
		       r.setpgid_errno == EPERM);
	S_TRUE("a session leader cannot change its group (EPERM)",
	       n == sizeof(r) && r.leader_ret == -1 &&
		       r.leader_errno == EPERM);
	S_EQ("the parent sees the child's new session with getsid",
	     pid > 0 ? getsid(pid) : -1, pid);
	S_TRUE("the parent's own session is unchanged",
	       getsid(0) != pid && getpgrp() == old_pgrp);
	close(g[1]);
	close(p[0]);
	if (pid > 0)
		reap(pid, &st, 3000);
}

/* ---- prctl ------------------------------------------------------------------ */

static void prctl_scenario(void *arg)
{
	char name[32];
	int sig = -1, p[2], ready[2], st;
	pid_t a;
	char buf[8];
	long n;

	(void)arg;
	S_CHECK("PR_SET_NAME succeeds",
		prctl(PR_SET_NAME, "ward-process-name-long", 0, 0, 0), 0, 0);
	memset(name, 'x', sizeof(name));
	prctl(PR_GET_NAME, name, 0, 0, 0);
	name[sizeof(name) - 1] = '\0';
	S_TRUE("PR_GET_NAME returns it truncated to 15 characters",
	       strcmp(name, "ward-process-na") == 0);

	S_CHECK("PR_SET_PDEATHSIG succeeds",
		prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0), 0, 0);
	prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0);
	S_EQ("PR_GET_PDEATHSIG reads it back", sig, SIGUSR1);
	S_CHECK_ERR("PR_SET_PDEATHSIG with a bad signal gives EINVAL",
		    prctl(PR_SET_PDEATHSIG, 99, 0, 0, 0), EINVAL);
	a = fork();
	if (a == 0) {
		int s = -1;

		prctl(PR_GET_PDEATHSIG, &s, 0, 0, 0);
		_exit(s == 0 ? 0 : 1);
	}
	st = -1;
	if (a > 0)
		reap(a, &st, 3000);
	S_STATUS("fork clears the parent-death signal in the child", st,
		 EXITED(0));
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);

	S_EQ("PR_GET_DUMPABLE is 1", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	S_EQ("PR_SET_DUMPABLE 0 reads back 0",
	     prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	S_CHECK_ERR("PR_SET_DUMPABLE 2 gives EINVAL",
		    prctl(PR_SET_DUMPABLE, 2, 0, 0, 0), EINVAL);
	S_CHECK_ERR("an unknown prctl option gives EINVAL",
		    prctl(0x7fff1234, 0, 0, 0, 0), EINVAL);

	/* A (our child) forks G, which asks for SIGTERM when its parent dies
	 * and reports "T" only if that signal never comes. */
	n = -1;
	if (pipe2(p, O_CLOEXEC) == 0 && pipe2(ready, O_CLOEXEC) == 0) {
		a = fork();
		if (a == 0) {
			pid_t apid = getpid(), g;

			close(p[0]);
			close(ready[0]);
			g = fork();
			if (g == 0) {
				prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
				if (getppid() != apid)
					raise(SIGTERM);
				if (write(ready[1], "r", 1) != 1)
					_exit(1);
				sleep_ms(1500);
				if (write(p[1], "T", 1) != 1)
					_exit(1);
				_exit(0);
			}
			close(ready[1]);
			close(p[1]);
			read_timeout(ready[0], buf, 1, 3000);
			_exit(0);
		}
		close(p[1]);
		close(ready[1]);
		if (a > 0) {
			long long start;

			reap(a, &st, 3000);
			/* EOF without "T", well before G would have written
			 * it: G died of the signal. */
			start = now_ns();
			n = read_timeout(p[0], buf, 1, 2500);
			if (n == 0 && ms_since(start) >= 1400)
				n = -1;
		}
		close(p[0]);
		close(ready[0]);
	}
	S_EQ("the parent-death signal kills the child when its parent exits",
	     n, 0);
}

/* ---- niceness and affinity ------------------------------------------------ */

static void priority_scenario(void *arg)
{
	cpu_set_t set, one, back;
	int prio, e, cpu, first = -1, i, st;
	pid_t pid;
	long r;

	(void)arg;
	errno = 0;
	prio = getpriority(PRIO_PROCESS, 0);
	e = errno;
	S_TRUE("getpriority(PRIO_PROCESS, 0) succeeds with a nice value",
	       e == 0 && prio >= -20 && prio <= 19);
	if (prio > 17)
		prio = 17;
	S_CHECK("setpriority raises our nice value by one",
		setpriority(PRIO_PROCESS, 0, prio + 1), 0, 0);
	S_EQ("getpriority reads it back", getpriority(PRIO_PROCESS, 0),
	     prio + 1);
	errno = 0;
	S_EQ("nice(1) returns the new nice value", nice(1), prio + 2);
	pid = fork();
	if (pid == 0)
		_exit(getpriority(PRIO_PROCESS, 0) == prio + 2 ? 0 : 1);
	st = -1;
	if (pid > 0)
		reap(pid, &st, 3000);
	S_STATUS("a child inherits the nice value", st, EXITED(0));
	S_CHECK_ERR("setpriority with a bad which gives EINVAL",
		    setpriority(99, 0, 0), EINVAL);
	S_CHECK_ERR("getpriority of a nonexistent pid gives ESRCH",
		    getpriority(PRIO_PROCESS, NO_PID), ESRCH);

	CPU_ZERO(&set);
	S_CHECK("sched_getaffinity succeeds",
		sched_getaffinity(0, sizeof(set), &set), 0, 0);
	cpu = sched_getcpu();
	S_TRUE("the mask has a CPU and includes the one we run on",
	       CPU_COUNT(&set) >= 1 && cpu >= 0 && CPU_ISSET(cpu, &set));
	for (i = 0; i < CPU_SETSIZE && first < 0; i++)
		if (CPU_ISSET(i, &set))
			first = i;
	CPU_ZERO(&one);
	if (first >= 0)
		CPU_SET(first, &one);
	S_CHECK("sched_setaffinity to a single CPU succeeds",
		sched_setaffinity(0, sizeof(one), &one), 0, 0);
	CPU_ZERO(&back);
	sched_getaffinity(0, sizeof(back), &back);
	S_TRUE("sched_getaffinity reads the single CPU back",
	       CPU_EQUAL(&back, &one) && sched_getcpu() == first);
	sched_setaffinity(0, sizeof(set), &set);
	CPU_ZERO(&one);
	S_CHECK_ERR("sched_setaffinity with an empty mask gives EINVAL",
		    sched_setaffinity(0, sizeof(one), &one), EINVAL);
	r = syscall(SYS_sched_getaffinity, 0, sizeof(back), &back);
	S_TRUE("the raw sched_getaffinity returns the bytes it wrote",
	       r > 0 && r <= (long)sizeof(back) && r % sizeof(long) == 0);
	S_CHECK_ERR("sched_getaffinity with a size that is not a multiple of a long gives EINVAL",
		    syscall(SYS_sched_getaffinity, 0, 3, &back), EINVAL);
}

/* ---- working directory ---------------------------------------------------- */

static int cwd_is(const char *want)
{
	char buf[4096];

	return getcwd(buf, sizeof(buf)) != NULL && strcmp(buf, want) == 0;
}

static void cwd_scenario(void *arg)
{
	char *argv[] = { (char *)self, "--mode-cwd", "/usr", NULL };
	char *no_env[] = { NULL };
	int fd, st;
	pid_t pid;

	(void)arg;
	S_CHECK("chdir(\"/\") succeeds", chdir("/"), 0, 0);
	pid = fork();
	if (pid == 0)
		_exit(chdir("/usr") == 0 && cwd_is("/usr") ? 0 : 1);
	st = -1;
	if (pid > 0)
		reap(pid, &st, 3000);
	S_STATUS("a child's chdir moves the child (getcwd /usr)", st,
		 EXITED(0));
	S_TRUE("and leaves the parent's cwd alone", cwd_is("/"));

	fd = open("/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	S_CHECK("fchdir to a directory fd succeeds", fchdir(fd), 0, 0);
	S_TRUE("getcwd follows fchdir", cwd_is("/etc"));
	close(fd);
	pid = fork();
	if (pid == 0)
		_exit(cwd_is("/etc") ? 0 : 1);
	st = -1;
	if (pid > 0)
		reap(pid, &st, 3000);
	S_STATUS("a child inherits the cwd", st, EXITED(0));

	pid = fork();
	if (pid == 0) {
		if (chdir("/usr") == 0)
			execve(self, argv, no_env);
		_exit(100 + errno);
	}
	st = -1;
	if (pid > 0)
		reap(pid, &st, 3000);
	S_STATUS("the cwd survives execve", st, EXITED(64));

	fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	S_CHECK_ERR("fchdir to a regular file gives ENOTDIR",
		    fd >= 0 ? fchdir(fd) : -2, ENOTDIR);
	close(fd);
	S_CHECK_ERR("fchdir of a closed fd gives EBADF", fchdir(9999), EBADF);
	S_CHECK_ERR("chdir to a missing directory gives ENOENT",
		    chdir("/nonexistent/ward-no-such-dir"), ENOENT);
	S_TRUE("failed calls left the cwd alone", cwd_is("/etc"));
}

int main(int argc, char **argv)
{
	pid_t pgrp;

	if (argc == 3 && strcmp(argv[1], "--mode-cwd") == 0)
		return cwd_is(argv[2]) ? 64 : 65;
	self = argv[0];
	plan(61);

	main_points(); /* 7 */
	pgrp = getpgrp();
	scenario("process groups", 11, pgrp_scenario, &pgrp);
	scenario("sessions", 7, session_scenario, NULL);
	scenario("prctl", 11, prctl_scenario, NULL);
	scenario("priority and affinity", 14, priority_scenario, NULL);
	scenario("cwd", 11, cwd_scenario, NULL);
	return done();
}
