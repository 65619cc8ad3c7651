/* fork(2), vfork(2), clone(2) as fork, and the wait family: waitpid(2),
 * wait4(2), waitid(2) with P_PID/P_PGID/P_ALL, WNOHANG, WNOWAIT, WSTOPPED,
 * WCONTINUED, WUNTRACED, __WALL/__WCLONE; exit and signal statuses;
 * reparenting of orphans (PR_SET_CHILD_SUBREAPER); getrusage(2) and
 * times(2). Every wait polls with WNOHANG under a deadline, and a child
 * that overstays is killed, so a broken runtime cannot hang the case. */
#include "tap.h"
#include "proc.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/times.h>

/* Polls waitid(options | WNOHANG) until it reports a child, for up to ms.
 * Returns 0 with si filled, or -1 with errno (ETIMEDOUT on timeout). */
static int waitid_poll(idtype_t type, id_t id, siginfo_t *si, int options,
		       int ms)
{
	long long start = now_ns();

	for (;;) {
		memset(si, 0, sizeof(*si));
		if (waitid(type, id, si, options | WNOHANG) == -1)
			return -1;
		if (si->si_pid != 0)
			return 0;
		if (ms_since(start) >= ms) {
			errno = ETIMEDOUT;
			return -1;
		}
		sleep_us(200);
	}
}

/* Forks a child that waits (at most 5 s) for its gate pipe to close, then
 * exits with code. Returns the pid; *gate is the write end to close. */
static pid_t gated_child(int code, int *gate)
{
	int g[2];
	pid_t pid;
	char c;

	*gate = -1;
	if (pipe2(g, O_CLOEXEC) == -1)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(g[1]);
		read_timeout(g[0], &c, 1, 5000);
		_exit(code);
	}
	close(g[0]);
	if (pid == -1) {
		close(g[1]);
		return -1;
	}
	*gate = g[1];
	return pid;
}

/* Forks a child that exits with code at once. */
static pid_t quick_child(int code)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(code);
	return pid;
}

static void close_gate(int *gate)
{
	if (*gate >= 0)
		close(*gate);
	*gate = -1;
}

/* Reaps whatever children are left (a failed point may leave one). */
static void reap_all(void)
{
	int st;

	while (waitpid(-1, &st, WNOHANG | __WALL) > 0)
		;
}

static void fork_basics(void)
{
	long v[2] = { -1, -1 };
	int p[2] = { -1, -1 }, st = 0;
	pid_t pid, r;
	long n = 0;

	need(pipe2(p, O_CLOEXEC) == 0, "pipe2");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		v[0] = getpid();
		v[1] = getppid();
		if (write(p[1], v, sizeof(v)) != sizeof(v))
			_exit(1);
		_exit(42);
	}
	close(p[1]);
	okf(pid > 0 && pid != getpid(),
	    "fork returns the child's pid in the parent", "fork returned %s",
	    pid == -1 ? tap_errname(errno) : pid == 0 ? "0" : "our own pid");
	if (pid > 0)
		n = read_timeout(p[0], v, sizeof(v), 3000);
	close(p[0]);
	CHECK_EQ("the child runs the branch where fork returned 0", n,
		 sizeof(v));
	CHECK_TRUE("the child's getpid equals the pid fork returned",
		   pid > 0 && v[0] == pid);
	CHECK_TRUE("the child's getppid equals the parent's getpid",
		   v[1] == getpid());
	r = pid > 0 ? wait_for(pid, &st, 0, 3000) : -1;
	CHECK_TRUE("waitpid returns the child's pid", pid > 0 && r == pid);
	okf(r == pid && WIFEXITED(st) && WEXITSTATUS(st) == 42,
	    "WIFEXITED and WEXITSTATUS is 42", "got %s",
	    r == pid ? describe_status(st) : "no status");
	if (r != pid)
		reap(pid, &st, 1000);
	CHECK_ERR("waitpid on the reaped child gives ECHILD",
		  waitpid(pid > 0 ? pid : 1, &st, WNOHANG), ECHILD);
}

static void wait4_points(void)
{
	struct rusage ru;
	siginfo_t si;
	int gate, st = 0;
	pid_t pid, r = -1;

	pid = gated_child(3, &gate);
	CHECK("wait4 with WNOHANG on a running child returns 0",
	      pid > 0 ? wait4(pid, &st, WNOHANG, NULL) : -2, 0, 0);
	close_gate(&gate);
	memset(&ru, 0, sizeof(ru));
	if (pid > 0 && waitid_poll(P_PID, pid, &si, WEXITED | WNOWAIT, 3000) == 0)
		r = wait4(pid, &st, 0, &ru);
	CHECK_TRUE("after the child exits, a blocking wait4 returns its pid",
		   pid > 0 && r == pid);
	okf(r == pid && st == EXITED(3), "wait4 stores the exit status 3",
	    "got %s", r == pid ? describe_status(st) : "no status");
	CHECK_TRUE("wait4 fills the rusage (ru_maxrss > 0)",
		   r == pid && ru.ru_maxrss > 0);
	if (r != pid)
		reap(pid, &st, 1000);
}

static int blocking_wait_no_children(void *arg)
{
	(void)arg;
	return wait(NULL) == -1 && errno == ECHILD ? 0 : 1;
}

static void echild_points(void)
{
	siginfo_t si;
	int st;

	reap_all();
	CHECK_ERR("waitpid(-1, WNOHANG) with no children gives ECHILD",
		  waitpid(-1, &st, WNOHANG), ECHILD);
	CHECK_ERR("waitid(P_ALL, WEXITED|WNOHANG) with no children gives ECHILD",
		  waitid(P_ALL, 0, &si, WEXITED | WNOHANG), ECHILD);
	st = run_child(blocking_wait_no_children, NULL, 3000);
	okf(st == EXITED(0),
	    "a blocking wait with no children gives ECHILD (in a child)",
	    "the child %s", st == -1 ? tap_errname(errno) : describe_status(st));
	CHECK_ERR("waitid without WEXITED/WSTOPPED/WCONTINUED gives EINVAL",
		  waitid(P_ALL, 0, &si, WNOHANG), EINVAL);
	CHECK_ERR("waitid with a bad idtype gives EINVAL",
		  syscall(SYS_waitid, 77, 0, &si, WEXITED | WNOHANG, NULL),
		  EINVAL);
	CHECK_ERR("waitpid with an unknown option bit gives EINVAL",
		  waitpid(-1, &st, WNOHANG | 0x100), EINVAL);
}

static void waitid_pid_points(void)
{
	siginfo_t si;
	pid_t pid = quick_child(5);
	int r;

	r = pid > 0 ? waitid_poll(P_PID, pid, &si, WEXITED | WNOWAIT, 3000)
		    : -1;
	okf(r == 0 && si.si_pid == pid && si.si_signo == SIGCHLD,
	    "waitid(P_PID, WEXITED|WNOWAIT) reports the exited child",
	    "waitid returned %d errno %s", r, tap_errname(r ? errno : 0));
	okf(r == 0 && si.si_code == CLD_EXITED && si.si_status == 5,
	    "its si_code is CLD_EXITED and si_status 5",
	    "si_code %d si_status %d", si.si_code, si.si_status);
	CHECK_TRUE("waitid reports the child's uid",
		   r == 0 && si.si_uid == getuid());
	memset(&si, 0, sizeof(si));
	r = pid > 0 ? waitid(P_PID, pid, &si, WEXITED) : -1;
	okf(r == 0 && si.si_pid == pid && si.si_status == 5,
	    "WNOWAIT left the zombie: a second waitid(P_PID) reaps it",
	    "waitid returned %d errno %s", r, tap_errname(r ? errno : 0));
	CHECK_ERR("a third waitid(P_PID) gives ECHILD",
		  waitid(P_PID, pid > 0 ? pid : 1, &si, WEXITED | WNOHANG),
		  ECHILD);
	if (r != 0)
		reap_all();
}

static void waitid_pgid_all_points(void)
{
	siginfo_t si;
	int gate, r, st;
	pid_t pid;

	pid = gated_child(6, &gate);
	r = pid > 0 ? setpgid(pid, pid) : -1;
	CHECK_TRUE("the parent moves the child into its own group",
		   r == 0 && getpgid(pid) == pid);
	CHECK_ERR("waitid(P_PGID) of our group, where we have no child, gives ECHILD",
		  waitid(P_PGID, getpgrp(), &si, WEXITED | WNOHANG), ECHILD);
	close_gate(&gate);
	r = pid > 0 ? waitid_poll(P_PGID, pid, &si, WEXITED, 3000) : -1;
	okf(r == 0 && si.si_pid == pid && si.si_code == CLD_EXITED &&
		    si.si_status == 6,
	    "waitid(P_PGID) with the child's group reaps it (status 6)",
	    "waitid returned %d errno %s, si_pid %s, si_status %d", r,
	    tap_errname(r ? errno : 0), si.si_pid == pid ? "ok" : "wrong",
	    si.si_status);
	if (r != 0)
		reap(pid, &st, 1000);

	pid = quick_child(7);
	r = pid > 0 ? waitid_poll(P_ALL, 0, &si, WEXITED, 3000) : -1;
	okf(r == 0 && si.si_pid == pid && si.si_status == 7,
	    "waitid(P_ALL) reaps the exited child (status 7)",
	    "waitid returned %d errno %s", r, tap_errname(r ? errno : 0));
	if (r != 0)
		reap(pid, &st, 1000);
}

static void stop_continue_points(void)
{
	siginfo_t si;
	int gate, r, st = 0;
	pid_t pid, w;

	pid = gated_child(0, &gate);
	CHECK("SIGSTOP to the child succeeds",
	      pid > 0 ? kill(pid, SIGSTOP) : -2, 0, 0);
	r = pid > 0 ? waitid_poll(P_PID, pid, &si, WSTOPPED, 3000) : -1;
	okf(r == 0 && si.si_code == CLD_STOPPED && si.si_status == SIGSTOP,
	    "waitid(WSTOPPED) reports CLD_STOPPED with SIGSTOP",
	    "waitid returned %d errno %s si_code %d si_status %d", r,
	    tap_errname(r ? errno : 0), si.si_code, si.si_status);
	memset(&si, 0, sizeof(si));
	r = pid > 0 ? waitid(P_PID, pid, &si, WSTOPPED | WNOHANG) : -1;
	CHECK_TRUE("the stop is reported once: a second waitid(WSTOPPED) finds nothing",
		   r == 0 && si.si_pid == 0);
	CHECK("SIGCONT to the child succeeds",
	      pid > 0 ? kill(pid, SIGCONT) : -2, 0, 0);
	r = pid > 0 ? waitid_poll(P_PID, pid, &si, WCONTINUED, 3000) : -1;
	okf(r == 0 && si.si_code == CLD_CONTINUED && si.si_status == SIGCONT,
	    "waitid(WCONTINUED) reports CLD_CONTINUED with SIGCONT",
	    "waitid returned %d errno %s si_code %d si_status %d", r,
	    tap_errname(r ? errno : 0), si.si_code, si.si_status);

	if (pid > 0)
		kill(pid, SIGSTOP);
	w = pid > 0 ? wait_for(pid, &st, WUNTRACED, 3000) : -1;
	okf(w == pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP,
	    "waitpid(WUNTRACED) reports WIFSTOPPED with WSTOPSIG SIGSTOP",
	    "got %s", w == pid ? describe_status(st) : "nothing");
	if (pid > 0)
		kill(pid, SIGCONT);
	w = pid > 0 ? wait_for(pid, &st, WCONTINUED, 3000) : -1;
	okf(w == pid && WIFCONTINUED(st),
	    "waitpid(WCONTINUED) reports WIFCONTINUED", "got %s",
	    w == pid ? describe_status(st) : "nothing");

	if (pid > 0)
		kill(pid, SIGSTOP);
	r = pid > 0 ? waitid_poll(P_PID, pid, &si, WSTOPPED | WNOWAIT, 3000)
		    : -1;
	w = r == 0 ? waitpid(pid, &st, WNOHANG) : -1;
	CHECK_TRUE("a waitpid without WUNTRACED does not report a stopped child",
		   r == 0 && w == 0);
	if (pid > 0)
		kill(pid, SIGKILL);
	w = pid > 0 ? wait_for(pid, &st, 0, 3000) : -1;
	okf(w == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	    "SIGKILL ends a stopped child: WIFSIGNALED with WTERMSIG SIGKILL",
	    "got %s", w == pid ? describe_status(st) : "nothing");
	close_gate(&gate);
	if (w != pid)
		reap(pid, &st, 1000);
}

static int abort_child(void *arg)
{
	struct rlimit zero = { 0, 0 };

	(void)arg;
	/* Never write a core file on the host. */
	setrlimit(RLIMIT_CORE, &zero);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	abort();
}

static void signal_status_points(void)
{
	siginfo_t si;
	int gate, r, st = 0;
	pid_t pid, w;

	pid = gated_child(0, &gate);
	if (pid > 0)
		kill(pid, SIGTERM);
	w = pid > 0 ? wait_for(pid, &st, 0, 3000) : -1;
	okf(w == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM &&
		    !WIFEXITED(st),
	    "a child killed by SIGTERM: WIFSIGNALED with WTERMSIG SIGTERM",
	    "got %s", w == pid ? describe_status(st) : "nothing");
	close_gate(&gate);
	if (w != pid)
		reap(pid, &st, 1000);

	pid = gated_child(0, &gate);
	if (pid > 0)
		kill(pid, SIGUSR1);
	r = pid > 0 ? waitid_poll(P_PID, pid, &si, WEXITED, 3000) : -1;
	okf(r == 0 && si.si_code == CLD_KILLED && si.si_status == SIGUSR1,
	    "waitid reports a signal death as CLD_KILLED with the signal",
	    "waitid returned %d errno %s si_code %d si_status %d", r,
	    tap_errname(r ? errno : 0), si.si_code, si.si_status);
	close_gate(&gate);
	if (r != 0)
		reap(pid, &st, 1000);

	/* WCOREDUMP depends on the core settings: not asserted. */
	st = run_child(abort_child, NULL, 3000);
	okf(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
	    "a child that aborts is WIFSIGNALED with WTERMSIG SIGABRT",
	    "got %s", st == -1 ? tap_errname(errno) : describe_status(st));
}

/* clone(2) with exit signal 0: the child is a "clone" child. */
static pid_t clone_child(int code)
{
	long r;

	fflush(stdout);
	r = syscall(SYS_clone, 0UL, NULL, NULL, NULL, NULL);
	if (r == 0)
		_exit(code);
	return (pid_t)r;
}

static void wall_points(void)
{
	int st = 0;
	pid_t pid, w;
	siginfo_t si;

	pid = clone_child(9);
	/* Wait (with __WALL and WNOWAIT) for it to be a zombie first. */
	if (pid > 0)
		waitid_poll(P_PID, pid, &si, WEXITED | WNOWAIT | __WALL, 3000);
	CHECK_ERR("a child with exit signal 0 is invisible to a plain waitpid (ECHILD)",
		  pid > 0 ? waitpid(pid, &st, WNOHANG) : -2, ECHILD);
	w = pid > 0 ? wait_for(pid, &st, __WCLONE, 3000) : -1;
	okf(w == pid && st == EXITED(9), "waitpid(__WCLONE) reaps it (exit 9)",
	    "got %s", w == pid ? describe_status(st) : tap_errname(errno));
	if (w != pid)
		reap(pid, &st, 1000);

	pid = clone_child(10);
	w = pid > 0 ? wait_for(pid, &st, __WALL, 3000) : -1;
	okf(w == pid && st == EXITED(10),
	    "waitpid(__WALL) reaps a child with exit signal 0", "got %s",
	    w == pid ? describe_status(st) : tap_errname(errno));
	if (w != pid)
		reap(pid, &st, 1000);

	pid = quick_child(11);
	w = pid > 0 ? wait_for(pid, &st, __WALL, 3000) : -1;
	okf(w == pid && st == EXITED(11),
	    "waitpid(__WALL) reaps an ordinary child", "got %s",
	    w == pid ? describe_status(st) : tap_errname(errno));
	if (w != pid)
		reap(pid, &st, 1000);
	pid = quick_child(12);
	if (pid > 0)
		waitid_poll(P_PID, pid, &si, WEXITED | WNOWAIT, 3000);
	CHECK_ERR("waitpid(__WCLONE) ignores an ordinary child (ECHILD)",
		  pid > 0 ? waitpid(pid, &st, WNOHANG | __WCLONE) : -2, ECHILD);
	reap(pid, &st, 1000);
}

/* ---- vfork: in a scenario child, since a broken vfork may never return */

static volatile pid_t vfork_seen_pid;
static volatile int vfork_late_write;

static void vfork_scenario(void *arg)
{
	char *const argv[] = { "true", NULL };
	char *const envp[] = { NULL };
	int st = 0;
	pid_t pid, w;

	(void)arg;
	vfork_seen_pid = 0;
	vfork_late_write = 0;
	pid = vfork();
	if (pid == 0) {
		struct timespec ts = { 0, 30 * 1000000 };

		vfork_seen_pid = (pid_t)syscall(SYS_getpid);
		syscall(SYS_nanosleep, &ts, NULL);
		vfork_late_write = 1;
		_exit(13);
	}
	S_TRUE("vfork returns the child's pid in the parent", pid > 0);
	S_TRUE("the parent resumes only after the child _exits (it sees the child's late write)",
	       vfork_late_write == 1);
	S_TRUE("memory is shared: the child's getpid, stored before _exit, is the pid vfork returned",
	       pid > 0 && vfork_seen_pid == pid);
	w = pid > 0 ? wait_for(pid, &st, 0, 3000) : -1;
	s_okf(w == pid && st == EXITED(13), "the vfork child exits 13",
	      "got %s", w == pid ? describe_status(st) : "nothing");

	pid = vfork();
	if (pid == 0) {
		execve("/bin/true", argv, envp);
		_exit(127);
	}
	w = pid > 0 ? wait_for(pid, &st, 0, 3000) : -1;
	s_okf(w == pid && st == EXITED(0),
	      "after vfork+execve(/bin/true) the parent resumes and the child exits 0",
	      "got %s", w == pid ? describe_status(st) : "nothing");
}

/* ---- orphans: a grandchild reports its parent after its parent died ---- */

struct orphan_report {
	long gpid;     /* the grandchild's pid */
	long old_ppid; /* its first parent */
	long new_ppid; /* its parent after the first one exited */
};

/* Forks A, which forks G and exits; G waits for the reparenting and writes
 * an orphan_report. Returns 1 when the report arrived. */
static int make_orphan(struct orphan_report *rep, pid_t *apid_out)
{
	int p[2], st;
	pid_t apid;
	long n;

	memset(rep, 0, sizeof(*rep));
	*apid_out = -1;
	if (pipe2(p, O_CLOEXEC) == -1)
		return 0;
	apid = fork();
	if (apid == 0) {
		long my_pid = getpid();
		pid_t g;

		close(p[0]);
		g = fork();
		if (g == 0) {
			struct orphan_report r;
			long long start = now_ns();

			r.gpid = getpid();
			r.old_ppid = my_pid;
			while (getppid() == my_pid && ms_since(start) < 2000)
				sleep_us(500);
			r.new_ppid = getppid();
			if (write(p[1], &r, sizeof(r)) != sizeof(r))
				_exit(1);
			_exit(4);
		}
		_exit(g > 0 ? 0 : 1);
	}
	close(p[1]);
	*apid_out = apid;
	if (apid == -1) {
		close(p[0]);
		return 0;
	}
	reap(apid, &st, 3000);
	n = read_timeout(p[0], rep, sizeof(*rep), 3000);
	close(p[0]);
	return n == sizeof(*rep);
}

static void subreaper_scenario(void *arg)
{
	struct orphan_report rep;
	int got, st = 0, on = 0;
	pid_t apid, w;

	(void)arg;
	S_CHECK("PR_SET_CHILD_SUBREAPER succeeds",
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0, 0);
	prctl(PR_GET_CHILD_SUBREAPER, &on, 0, 0, 0);
	S_EQ("PR_GET_CHILD_SUBREAPER reads back 1", on, 1);
	got = make_orphan(&rep, &apid);
	S_TRUE("the grandchild reports after its parent exits", got);
	S_TRUE("the orphaned grandchild is reparented to the subreaper",
	       got && rep.old_ppid == apid && rep.new_ppid == getpid());
	w = got ? wait_for((pid_t)rep.gpid, &st, 0, 3000) : -1;
	s_okf(w == rep.gpid && st == EXITED(4),
	      "the subreaper reaps the orphan (exit 4)", "got %s",
	      w == rep.gpid ? describe_status(st) : tap_errname(errno));
}

static void orphan_scenario(void *arg)
{
	struct orphan_report rep;
	int got;
	pid_t apid;

	(void)arg;
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	got = make_orphan(&rep, &apid);
	s_okf(got && rep.old_ppid == apid && rep.new_ppid != apid &&
		      rep.new_ppid != getpid() && rep.new_ppid > 0,
	      "without a subreaper here, the orphan leaves for init or an outer subreaper",
	      "report %s, new parent is %s", got ? "arrived" : "missing",
	      rep.new_ppid == apid	  ? "the dead parent"
	      : rep.new_ppid == getpid() ? "the grandparent (no subreaper)"
					  : "other");
}

static void rusage_times_points(void)
{
	struct rusage ru;
	struct tms t;
	clock_t c;

	memset(&ru, 0, sizeof(ru));
	CHECK("getrusage(RUSAGE_CHILDREN) succeeds",
	      getrusage(RUSAGE_CHILDREN, &ru), 0, 0);
	CHECK_TRUE("after reaping children, RUSAGE_CHILDREN's ru_maxrss > 0",
		   ru.ru_maxrss > 0);
	CHECK("getrusage(RUSAGE_SELF) succeeds", getrusage(RUSAGE_SELF, &ru),
	      0, 0);
	CHECK_ERR("getrusage with a bad who gives EINVAL",
		  syscall(SYS_getrusage, 5, &ru), EINVAL);
	memset(&t, 0xff, sizeof(t));
	errno = 0;
	c = times(&t);
	okf(c != (clock_t)-1 && t.tms_utime >= 0 && t.tms_cutime >= 0,
	    "times succeeds and fills struct tms", "times returned %ld errno %s",
	    (long)c, tap_errname(errno));
	CHECK_TRUE("times with a NULL buffer succeeds",
		   syscall(SYS_times, NULL) != -1);
}

int main(void)
{
	plan(60);

	fork_basics();           /* 7 */
	wait4_points();          /* 4 */
	echild_points();         /* 6 */
	waitid_pid_points();     /* 5 */
	waitid_pgid_all_points(); /* 4 */
	stop_continue_points();  /* 9 */
	signal_status_points();  /* 3 */
	wall_points();           /* 5 */
	scenario("vfork", 5, vfork_scenario, NULL);
	scenario("subreaper", 5, subreaper_scenario, NULL);
	scenario("orphan", 1, orphan_scenario, NULL);
	reap_all();
	rusage_times_points();   /* 6 */
	return done();
}
