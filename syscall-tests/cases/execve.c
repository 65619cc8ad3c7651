/* execve(2) and execveat(2): running programs and #! scripts, argv and envp
 * delivery, the error paths (ENOENT, EACCES, ENOEXEC, ENOTDIR, EFAULT,
 * ENAMETOOLONG, E2BIG), close-on-exec, and what exec resets or keeps
 * (threads, pid, signal dispositions, mask, pending signals).
 *
 * Every exec runs in a forked child under a deadline. Checks inside the new
 * image run this program again (argv[0], an absolute path) in a "--mode-*"
 * that answers through its exit status: 64 + a code. A failed exec exits
 * 100 + errno. Scripts and bad files go in a fresh directory under /tmp,
 * removed at the end; where it cannot be made, those points skip. */
#include "tap.h"
#include "proc.h"

#include <pthread.h>

#define FAILED_EXEC(e) EXITED(100 + (e))
#define MODE(code) EXITED(64 + (code))

static const char *self;
extern char **environ;

/* ---- modes: run in the new image --------------------------------------- */

static int read_threads(void)
{
	char buf[4096], *p;
	int n;

	if (slurp("/proc/self/status", buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, "\nThreads:");
	if (!p || sscanf(p + 9, "%d", &n) != 1)
		return -2;
	return n;
}

static int run_mode(int argc, char **argv)
{
	const char *mode = argv[1];
	struct sigaction sa;
	sigset_t set;
	int code, n;

	if (strcmp(mode, "--mode-fd") == 0 && argc == 3) {
		if (fcntl(atoi(argv[2]), F_GETFD) != -1)
			return 64;
		return errno == EBADF ? 65 : 66;
	}
	if (strcmp(mode, "--mode-argv") == 0) {
		if (argc != 5 || strcmp(argv[2], "a b") != 0 ||
		    strcmp(argv[3], "") != 0 || strcmp(argv[4], "last") != 0)
			return 65;
		if (!environ || !environ[0] || !environ[1] || environ[2] ||
		    strcmp(environ[0], "WARD_X=1") != 0 ||
		    strcmp(environ[1], "EMPTY=") != 0)
			return 66;
		return 64;
	}
	if (strcmp(mode, "--mode-threads") == 0) {
		n = read_threads();
		if (n == -1)
			return 99;
		return n < 0 || n > 30 ? 98 : 64 + n;
	}
	if (strcmp(mode, "--mode-pid") == 0 && argc == 3) {
		code = 0;
		if (getpid() != atoi(argv[2]))
			code |= 1;
		if (tid_self() != getpid())
			code |= 2;
		n = read_threads();
		if (n != 1)
			code |= 4;
		return 64 + code;
	}
	if (strcmp(mode, "--mode-sigstate") == 0) {
		code = 0;
		sigaction(SIGUSR1, NULL, &sa);
		if (sa.sa_handler != SIG_DFL)
			code |= 1;
		sigaction(SIGUSR2, NULL, &sa);
		if (sa.sa_handler != SIG_IGN)
			code |= 2;
		sigprocmask(SIG_BLOCK, NULL, &set);
		if (!sigismember(&set, SIGHUP))
			code |= 4;
		sigpending(&set);
		if (!sigismember(&set, SIGINT))
			code |= 8;
		return 64 + code;
	}
	return 97;
}

/* ---- exec in a child ---------------------------------------------------- */

struct exec_spec {
	const char *path;
	char *const *argv;
	char *const *envp;
	int use_at;  /* execveat(dirfd, path, ..., flags) */
	int dirfd;
	int flags;
	int out_fd;  /* when >= 0, the child's stdout */
	int keep_fd; /* an fd the child leaves alone */
};

static int do_exec(void *arg)
{
	struct exec_spec *s = arg;

	if (s->out_fd >= 0)
		dup2(s->out_fd, 1);
	if (s->use_at)
		syscall(SYS_execveat, s->dirfd, s->path, s->argv, s->envp,
			s->flags);
	else
		syscall(SYS_execve, s->path, s->argv, s->envp);
	return 100 + errno;
}

static char *const no_env[] = { NULL };

/* The wait status of a child that execs path (argv: {path}). */
static int exec_status(const char *path)
{
	char *argv[] = { (char *)path, NULL };
	struct exec_spec s = { path, argv, no_env, 0, -1, 0, -1, -1 };

	return run_child(do_exec, &s, 3000);
}

static int exec_at_status(int dirfd, const char *path, int flags)
{
	char *argv[] = { "true", NULL };
	struct exec_spec s = { path, argv, no_env, 1, dirfd, flags, -1, -1 };

	return run_child(do_exec, &s, 3000);
}

/* Runs the spec with stdout into a pipe; returns the status and stores the
 * output (NUL-terminated, trailing newline removed) in out. */
static int exec_output(struct exec_spec *s, char *out, size_t size)
{
	int p[2], st;
	long n = 0;

	out[0] = '\0';
	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	s->out_fd = p[1];
	st = run_child(do_exec, s, 3000);
	close(p[1]);
	if (st != -1)
		n = read_timeout(p[0], out, size - 1, 1000);
	close(p[0]);
	out[n > 0 ? n : 0] = '\0';
	if (n > 0 && out[n - 1] == '\n')
		out[n - 1] = '\0';
	return st;
}

static const char *st_name(int st)
{
	return st == -1 ? tap_errname(errno) : describe_status(st);
}

#define CHECK_STATUS(desc, st_expr, want)                                      \
	do {                                                                   \
		int st_ = (st_expr);                                           \
		char want_[64];                                                \
		snprintf(want_, sizeof(want_), "%s", describe_status(want));   \
		okf(st_ == (want), (desc), "expected %s, got %s", want_,       \
		    st_name(st_));                                             \
	} while (0)

/* ---- the points --------------------------------------------------------- */

static void basic_points(void)
{
	static char long_path[5000];
	char *argv[] = { "x", NULL };

	CHECK_STATUS("fork+execve(/bin/true) exits 0", exec_status("/bin/true"),
		     EXITED(0));
	CHECK_STATUS("fork+execve(/bin/false) exits 1",
		     exec_status("/bin/false"), EXITED(1));
	CHECK_STATUS("execve of a missing path gives ENOENT",
		     exec_status("/nonexistent/ward-no-such-program"),
		     FAILED_EXEC(ENOENT));
	CHECK_STATUS("execve of a directory gives EACCES", exec_status("/"),
		     FAILED_EXEC(EACCES));
	CHECK_STATUS("execve through a non-directory gives ENOTDIR",
		     exec_status("/bin/true/x"), FAILED_EXEC(ENOTDIR));
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	CHECK_STATUS("execve of an over-long path gives ENAMETOOLONG",
		     exec_status(long_path), FAILED_EXEC(ENAMETOOLONG));
	/* A bad path pointer fails before anything is replaced: safe here. */
	CHECK_ERR("execve with a bad path pointer gives EFAULT",
		  syscall(SYS_execve, BAD_PTR, argv, no_env), EFAULT);
}

static void e2big_point(void)
{
	static char big[200 * 1024];
	char *argv[] = { "true", big, NULL };
	struct exec_spec s = { "/bin/true", argv, no_env, 0, -1, 0, -1, -1 };

	memset(big, 'x', sizeof(big) - 1);
	CHECK_STATUS("an argument over MAX_ARG_STRLEN gives E2BIG",
		     run_child(do_exec, &s, 3000), FAILED_EXEC(E2BIG));
}

static void arg_env_points(void)
{
	char *sh_env_argv[] = { "sh", "-c", "echo $X", NULL };
	char *sh_env[] = { "X=hello-ward", NULL };
	char *sh_arg_argv[] = { "sh", "-c", "echo \"$0:$1:$#\"", "zero", "one",
				NULL };
	char *self_argv[] = { (char *)self, "--mode-argv", "a b", "", "last",
			      NULL };
	char *self_env[] = { "WARD_X=1", "EMPTY=", NULL };
	struct exec_spec s = { "/bin/sh", sh_env_argv, sh_env, 0, -1, 0, -1, -1 };
	char out[256];
	int st;

	st = exec_output(&s, out, sizeof(out));
	okf(st == EXITED(0) && strcmp(out, "hello-ward") == 0,
	    "envp reaches the new program (sh echoes $X)",
	    "status %s, output \"%s\"", st_name(st), out);
	s.argv = sh_arg_argv;
	s.envp = no_env;
	st = exec_output(&s, out, sizeof(out));
	okf(st == EXITED(0) && strcmp(out, "zero:one:1") == 0,
	    "argv reaches the new program (sh sees $0, $1 and $#)",
	    "status %s, output \"%s\"", st_name(st), out);
	s.path = self;
	s.argv = self_argv;
	s.envp = self_env;
	s.out_fd = -1;
	CHECK_STATUS("argv and envp arrive exactly, empty strings included",
		     run_child(do_exec, &s, 3000), MODE(0));
}

static int fd_mode_status(int fd)
{
	char num[16];
	char *argv[] = { (char *)self, "--mode-fd", num, NULL };
	struct exec_spec s = { self, argv, no_env, 0, -1, 0, -1, fd };

	snprintf(num, sizeof(num), "%d", fd);
	return run_child(do_exec, &s, 3000);
}

static void cloexec_points(void)
{
	int kept = open("/dev/null", O_RDONLY);
	int cloexec = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int later = open("/dev/null", O_RDONLY);

	if (later >= 0)
		fcntl(later, F_SETFD, FD_CLOEXEC);
	CHECK_STATUS("a descriptor without close-on-exec stays open across exec",
		     fd_mode_status(kept), MODE(0));
	CHECK_STATUS("an O_CLOEXEC descriptor is closed by exec",
		     fd_mode_status(cloexec), MODE(1));
	CHECK_STATUS("FD_CLOEXEC set with fcntl closes it too",
		     fd_mode_status(later), MODE(1));
	close(kept);
	close(cloexec);
	close(later);
}

static void execveat_points(void)
{
	int fd = open("/bin/true", O_RDONLY | O_CLOEXEC);
	int dir = open("/usr/bin", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	CHECK_STATUS("execveat(fd of /bin/true, \"\", AT_EMPTY_PATH) exits 0",
		     exec_at_status(fd, "", AT_EMPTY_PATH), EXITED(0));
	CHECK_STATUS("execveat(dirfd of /usr/bin, \"true\") exits 0",
		     exec_at_status(dir, "true", 0), EXITED(0));
	CHECK_STATUS("execveat with an empty path and no AT_EMPTY_PATH gives ENOENT",
		     exec_at_status(fd, "", 0), FAILED_EXEC(ENOENT));
	CHECK_STATUS("execveat with an unknown flag gives EINVAL",
		     exec_at_status(fd, "", AT_EMPTY_PATH | 0x8000),
		     FAILED_EXEC(EINVAL));
	CHECK_STATUS("execveat with a bad dirfd gives EBADF",
		     exec_at_status(9999, "true", 0), FAILED_EXEC(EBADF));
	close(fd);
	close(dir);
}

/* ---- exec from a threaded process -------------------------------------- */

static void *sleeper(void *arg)
{
	(void)arg;
	sleep_ms(5000);
	return NULL;
}

static int threaded_exec(void *arg)
{
	char *argv[] = { (char *)self, "--mode-threads", NULL };
	pthread_t th;
	int i;

	(void)arg;
	for (i = 0; i < 2; i++)
		if (pthread_create(&th, NULL, sleeper, NULL) != 0)
			return 90;
	execve(self, argv, no_env);
	return 100 + errno;
}

static char pid_arg[16];

static void *exec_from_thread(void *arg)
{
	char *argv[] = { (char *)self, "--mode-pid", pid_arg, NULL };

	(void)arg;
	execve(self, argv, no_env);
	_exit(100 + errno);
}

static int thread_exec(void *arg)
{
	pthread_t th;

	(void)arg;
	snprintf(pid_arg, sizeof(pid_arg), "%d", getpid());
	if (pthread_create(&th, NULL, exec_from_thread, NULL) != 0)
		return 90;
	sleep_ms(5000);
	return 91;
}

static void sig_noop(int sig)
{
	(void)sig;
}

static int sigstate_exec(void *arg)
{
	char *argv[] = { (char *)self, "--mode-sigstate", NULL };
	struct sigaction sa;
	sigset_t set;

	(void)arg;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sig_noop;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGUSR2, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGINT);
	execve(self, argv, no_env);
	return 100 + errno;
}

static void thread_signal_points(void)
{
	int st, code;

	st = run_child(threaded_exec, NULL, 3000);
	okf(st == MODE(1),
	    "after exec from a threaded process only one thread is left",
	    "got %s%s", st_name(st),
	    st == EXITED(99) ? " (/proc/self/status unreadable)" : "");
	st = run_child(thread_exec, NULL, 3000);
	CHECK_STATUS("exec from a secondary thread keeps the pid; the new image is one thread",
		     st, MODE(0));

	st = run_child(sigstate_exec, NULL, 3000);
	code = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) >= 64 &&
			       WEXITSTATUS(st) < 80
		       ? WEXITSTATUS(st) - 64
		       : -1;
	okf(code >= 0 && !(code & 1), "exec resets a caught signal to SIG_DFL",
	    "got %s", st_name(st));
	okf(code >= 0 && !(code & 2), "exec keeps an ignored signal ignored",
	    "got %s", st_name(st));
	okf(code >= 0 && !(code & 4), "exec keeps the signal mask",
	    "got %s", st_name(st));
	okf(code >= 0 && !(code & 8), "exec keeps a pending blocked signal",
	    "got %s", st_name(st));
}

/* A #! script the host already has (the /tmp ones may not be possible). */
static void host_script_point(void)
{
	static const char *const candidates[] = { "/usr/bin/zcat",
						  "/usr/bin/gunzip",
						  "/usr/bin/ldd" };
	char *argv[] = { NULL, "--version", NULL };
	struct exec_spec s = { NULL, argv, no_env, 0, -1, 0, -1, -1 };
	char head[3], out[4096];
	size_t i;
	int fd, st;

	for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		fd = open(candidates[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(head, 0, sizeof(head));
		if (read(fd, head, 2) == 2 && memcmp(head, "#!", 2) == 0 &&
		    access(candidates[i], X_OK) == 0) {
			close(fd);
			argv[0] = (char *)candidates[i];
			s.path = candidates[i];
			st = exec_output(&s, out, sizeof(out));
			okf(st == EXITED(0) && out[0] != '\0',
			    "a host #! script (--version) runs through its interpreter",
			    "status %s, %s output", st_name(st),
			    out[0] ? "some" : "no");
			return;
		}
		close(fd);
	}
	skip("a host #! script (--version) runs through its interpreter",
	     "no zcat, gunzip or ldd script on this host");
}

/* ---- files in a fresh /tmp directory ------------------------------------ */

static char tmpdir[64] = "/tmp/ward-execve-XXXXXX";
static int have_tmp;
static char files[5][128];
static int nfiles;

/* Creates tmpdir/name with content and mode; returns its path or NULL. */
static const char *make_file(const char *name, const char *content,
			     size_t len, mode_t mode)
{
	char *path;
	int fd;

	if (!have_tmp || nfiles == 5)
		return NULL;
	path = files[nfiles];
	snprintf(path, sizeof(files[0]), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	nfiles++;
	if (write(fd, content, len) != (ssize_t)len ||
	    fchmod(fd, mode) != 0) {
		close(fd);
		return NULL;
	}
	close(fd);
	return path;
}

static void file_points(void)
{
	static const char garbage[64] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	const char *noexec, *junk, *script, *echo, *badinterp;
	char *argv[3] = { NULL, "hello", NULL };
	struct exec_spec s = { NULL, argv, no_env, 0, -1, 0, -1, -1 };
	char out[256], want[256];
	int st;

	have_tmp = mkdtemp(tmpdir) != NULL;
	noexec = make_file("noexec", "#!/bin/sh\nexit 0\n", 17, 0644);
	junk = make_file("garbage", garbage, sizeof(garbage), 0755);
	script = make_file("script", "#!/bin/sh\nexit 7\n", 17, 0755);
	echo = make_file("echo", "#!/bin/sh\necho \"$0|$1\"\n", 23, 0755);
	badinterp = make_file("badinterp", "#!/nonexistent/ward-interp\n", 27,
			      0755);

	if (noexec)
		CHECK_STATUS("execve of a file without execute permission gives EACCES",
			     exec_status(noexec), FAILED_EXEC(EACCES));
	else
		skip("execve of a file without execute permission gives EACCES",
		     "cannot create a file in /tmp");
	if (junk)
		CHECK_STATUS("execve of a file of garbage gives ENOEXEC",
			     exec_status(junk), FAILED_EXEC(ENOEXEC));
	else
		skip("execve of a file of garbage gives ENOEXEC",
		     "cannot create a file in /tmp");
	if (script)
		CHECK_STATUS("a #! script runs through its interpreter (exit 7)",
			     exec_status(script), EXITED(7));
	else
		skip("a #! script runs through its interpreter (exit 7)",
		     "cannot create a file in /tmp");
	if (echo) {
		argv[0] = (char *)echo;
		s.path = echo;
		st = exec_output(&s, out, sizeof(out));
		snprintf(want, sizeof(want), "%s|hello", echo);
		okf(st == EXITED(0) && strcmp(out, want) == 0,
		    "the interpreter gets the script's path and its arguments",
		    "status %s, output %s", st_name(st),
		    strcmp(out, want) == 0 ? "as expected" : "different");
	} else {
		skip("the interpreter gets the script's path and its arguments",
		     "cannot create a file in /tmp");
	}
	if (badinterp)
		CHECK_STATUS("a #! script with a missing interpreter gives ENOENT",
			     exec_status(badinterp), FAILED_EXEC(ENOENT));
	else
		skip("a #! script with a missing interpreter gives ENOENT",
		     "cannot create a file in /tmp");

	while (nfiles > 0)
		unlink(files[--nfiles]);
	if (have_tmp)
		rmdir(tmpdir);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strncmp(argv[1], "--mode-", 7) == 0)
		return run_mode(argc, argv);
	self = argv[0];

	plan(31);

	basic_points();        /* 7 */
	e2big_point();         /* 1 */
	arg_env_points();      /* 3 */
	cloexec_points();      /* 3 */
	execveat_points();     /* 5 */
	thread_signal_points(); /* 6 */
	host_script_point();   /* 1 */
	file_points();         /* 5 */
	return done();
}
