/* chroot(2): the argument checks (EFAULT, ENOENT, ENOTDIR, EACCES, EPERM
 * without CAP_SYS_CHROOT); inside the new root, absolute paths, ".." at
 * the root and absolute symlinks all stay below it; a working directory
 * left outside is not moved (getcwd says "(unreachable)"); the root shows
 * in /proc/PID/root and is inherited across fork and execve.
 *
 * Every chroot happens in a forked child (a scenario), never in the test
 * itself. Files live in a fresh directory /tmp/ward-chroot-PID:
 *   outside          a file outside the new root
 *   jail/file        a file in it
 *   jail/sub/marker  a file one level down
 *   jail/abs -> /sub an absolute symlink, resolved against the new root
 *   jail/up -> ../../../..  a relative one that tries to climb out
 *   closed/          mode 0700, for EACCES as another user */
#include "tap.h"
#include "proc.h"

#include <sys/auxv.h>

static char base[64];
static char self_exe[4096];

/* base/name in a static buffer (one of four, so a call may take two). */
static const char *at(const char *name)
{
	static char bufs[4][128];
	static int next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", base, name);
	return b;
}

static int touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return -1;
	return close(fd);
}

static int setup(void)
{
	snprintf(base, sizeof(base), "/tmp/ward-chroot-%d", (int)getpid());
	if (mkdir(base, 0755) == -1 || chmod(base, 0755) == -1)
		return -1;
	if (touch(at("outside")) || mkdir(at("jail"), 0755) ||
	    chmod(at("jail"), 0755) || touch(at("jail/file")) ||
	    mkdir(at("jail/sub"), 0755) || touch(at("jail/sub/marker")) ||
	    symlink("/sub", at("jail/abs")) ||
	    symlink("../../../..", at("jail/up")) ||
	    mkdir(at("closed"), 0700) || chmod(at("closed"), 0700))
		return -1;
	return 0;
}

static void cleanup(void)
{
	const char *names[] = { "jail/sub/marker", "jail/file", "jail/abs",
				"jail/up", "outside" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(at(names[i]));
	rmdir(at("jail/sub"));
	rmdir(at("jail"));
	rmdir(at("closed"));
	rmdir(base);
}

/* ---- argument checks ----------------------------------------------------- */

static void bad_args(void *arg)
{
	(void)arg;
	S_CHECK_ERR("chroot(bad pointer) is EFAULT",
		    syscall(SYS_chroot, BAD_PTR), EFAULT);
	S_CHECK_ERR("chroot(\"\") is ENOENT", chroot(""), ENOENT);
	S_CHECK_ERR("chroot of a missing path is ENOENT",
		    chroot(at("nope")), ENOENT);
	S_CHECK_ERR("chroot of a regular file is ENOTDIR",
		    chroot(at("outside")), ENOTDIR);
	S_CHECK_ERR("chroot through a file is ENOTDIR",
		    chroot(at("outside/x")), ENOTDIR);
}

/* As nobody (no capabilities left after setuid from root). */
static void unprivileged(void *arg)
{
	(void)arg;
	if (setgid(65534) == -1 || setuid(65534) == -1) {
		S_CHECK_ERR("chroot without CAP_SYS_CHROOT is EPERM", -1, 0);
		S_CHECK_ERR("chroot of a missing path is still ENOENT", -1, 0);
		S_CHECK_ERR("chroot of an unsearchable dir is EACCES", -1, 0);
		S_CHECK_ERR("chroot below an unsearchable dir is EACCES", -1, 0);
		return;
	}
	S_CHECK_ERR("chroot without CAP_SYS_CHROOT is EPERM",
		    chroot(at("jail")), EPERM);
	S_CHECK_ERR("chroot of a missing path is still ENOENT",
		    chroot(at("nope")), ENOENT);
	S_CHECK_ERR("chroot of an unsearchable dir is EACCES",
		    chroot(at("closed")), EACCES);
	S_CHECK_ERR("chroot below an unsearchable dir is EACCES",
		    chroot(at("closed/x")), EACCES);
}

/* ---- inside the new root ------------------------------------------------- */

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void inside(void *arg)
{
	struct stat root, dotdot;
	char buf[256], want[200];
	long n;

	(void)arg;
	if (chdir(base) == -1 || chroot(at("jail")) == -1) {
		s_okf(0, "chroot into a directory", "setup: %s",
		      tap_errname(errno));
		return;
	}
	S_OK(1, "chroot into a directory");
	S_TRUE("an absolute path resolves in the new root", exists("/file"));
	S_TRUE("two levels down", exists("/sub/marker"));
	S_TRUE("the old root's files are not visible", !exists("/outside"));
	S_TRUE("\"..\" at the root stays there", exists("/../../../file"));
	S_TRUE("an absolute symlink resolves in the new root",
	       exists("/abs/marker"));
	S_TRUE("a climbing relative symlink stops at the root",
	       exists("/up/file"));
	S_OK(stat("/", &root) == 0 && stat("/..", &dotdot) == 0 &&
		     root.st_ino == dotdot.st_ino && root.st_dev == dotdot.st_dev,
	     "/.. is /");

	/* The old cwd is outside: it still works, relative paths and all. */
	S_TRUE("a cwd outside the root still resolves relative paths",
	       exists("outside"));
	n = syscall(SYS_getcwd, buf, sizeof(buf));
	snprintf(want, sizeof(want), "(unreachable)%s", base);
	s_okf(n > 0 && strcmp(buf, want) == 0,
	      "getcwd outside the root is (unreachable)/...", "got %ld %s",
	      n, n > 0 ? buf : tap_errname(errno));

	S_CHECK("chdir to the new root", chdir("/"), 0, 0);
	S_CHECK("chdir(\"..\") at the root", chdir(".."), 0, 0);
	S_TRUE("still at the root after chdir(\"..\")", exists("file"));
	n = syscall(SYS_getcwd, buf, sizeof(buf));
	s_okf(n == 2 && strcmp(buf, "/") == 0, "getcwd at the new root is /",
	      "got %ld %s", n, n > 0 ? buf : tap_errname(errno));
	S_CHECK("chdir into the root's subdir", chdir("sub"), 0, 0);
	n = syscall(SYS_getcwd, buf, sizeof(buf));
	s_okf(n > 0 && strcmp(buf, "/sub") == 0,
	      "getcwd below the new root is relative to it", "got %ld %s", n,
	      n > 0 ? buf : tap_errname(errno));

	/* A second chroot is relative to the first. */
	S_CHECK("chroot(\".\") into a subdir", chroot("."), 0, 0);
	S_TRUE("the nested root holds only the subdir's files",
	       exists("/marker") && !exists("/file"));
}

/* ---- seen from outside, and inherited ------------------------------------ */

static void from_outside(void *arg)
{
	int go[2], ready[2], st;
	char path[64], buf[256], want[200], c = 0;
	ssize_t n;
	pid_t pid;

	(void)arg;
	if (pipe(go) == -1 || pipe(ready) == -1) {
		s_okf(0, "/proc/PID/root names the new root", "pipe: %s",
		      tap_errname(errno));
		S_OK(0, "the chrooted child exits cleanly");
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		close(ready[0]);
		c = chroot(at("jail")) == 0 ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1)
			_exit(2);
		if (read(go[0], &c, 1) != 1)
			_exit(3);
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	n = read_timeout(ready[0], &c, 1, 2000);
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	n = n == 1 && c == 'y' ? readlink(path, buf, sizeof(buf) - 1) : -1;
	if (n >= 0)
		buf[n] = '\0';
	snprintf(want, sizeof(want), "%s/jail", base);
	s_okf(n > 0 && strcmp(buf, want) == 0,
	      "/proc/PID/root names the new root", "got %s",
	      n > 0 ? buf : tap_errname(errno));
	if (write(go[1], "x", 1) != 1)
		kill_child(pid);
	S_STATUS("the chrooted child exits cleanly",
		 reap(pid, &st, 2000) == 1 ? st : -1, EXITED(0));
}

/* Exits 0 when "/file" and "/sub" exist and "/outside" does not. */
static int check_in_jail(void)
{
	return exists("/file") && exists("/sub/marker") && !exists("/outside")
		       ? 0
		       : 1;
}

static void inherited(void *arg)
{
	char *argv[] = { self_exe, "--check-in-jail", NULL };
	char *envp[] = { NULL };
	int st, fd;
	pid_t pid;

	(void)arg;
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || chroot(at("jail")) == -1 || chdir("/") == -1) {
		S_OK(0, "a forked child keeps the root");
		s_skip("execve keeps the root", "setup failed");
		return;
	}
	pid = fork();
	if (pid == 0)
		_exit(check_in_jail());
	S_STATUS("a forked child keeps the root",
		 reap(pid, &st, 2000) == 1 ? st : -1, EXITED(0));

	/* A dynamic program would need its interpreter inside the jail. */
	if (getauxval(AT_BASE) != 0) {
		s_skip("execve keeps the root", "a dynamic binary");
		return;
	}
	pid = fork();
	if (pid == 0) {
		syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
		_exit(100 + errno);
	}
	S_STATUS("execve keeps the root", reap(pid, &st, 2000) == 1 ? st : -1,
		 EXITED(0));
}

int main(int argc, char **argv)
{
	ssize_t n;

	if (argc > 1 && strcmp(argv[1], "--check-in-jail") == 0)
		return check_in_jail();
	plan(5 + 4 + 18 + 2 + 2);
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	self_exe[n > 0 ? n : 0] = '\0';
	if (setup() == -1) {
		printf("Bail out! cannot make a directory tree in /tmp (%s)\n",
		       tap_errname(errno));
		cleanup();
		return 1;
	}
	scenario("bad_args", 5, bad_args, NULL);
	if (geteuid() == 0) {
		scenario("unprivileged", 4, unprivileged, NULL);
	} else {
		skip("chroot without CAP_SYS_CHROOT is EPERM", "not root");
		skip("chroot of a missing path is still ENOENT", "not root");
		skip("chroot of an unsearchable dir is EACCES", "not root");
		skip("chroot below an unsearchable dir is EACCES", "not root");
	}
	scenario("inside", 18, inside, NULL);
	scenario("from_outside", 2, from_outside, NULL);
	scenario("inherited", 2, inherited, NULL);
	cleanup();
	return done();
}
