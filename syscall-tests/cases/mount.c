/* mount(2), umount2(2) and unshare(CLONE_NEWNS): new tmpfs mounts with
 * options, bind mounts of directories and files (MS_REC brings the mounts
 * below), MS_MOVE, MS_REMOUNT and MS_REMOUNT|MS_BIND making a mount read-only
 * (EROFS) and back, MS_NOEXEC (execve EACCES, mmap EPERM), MS_NOSUID
 * (set-ID bits ignored), MS_NODEV (EACCES), propagation flags, the
 * mount table in /proc/self/mounts and mountinfo, umount2's EBUSY and
 * MNT_DETACH, and the errors (EFAULT, ENOENT, ENOTDIR, ENODEV, EINVAL,
 * EBUSY, EPERM without CAP_SYS_ADMIN).
 *
 * Safety: natively these run as root, so every mounting point runs in a
 * forked child that first entered its own mount namespace and made "/"
 * private (and mounts nothing if that failed), and mounts only on
 * directories under a fresh /tmp/ward-mount-PID; each child unmounts what
 * it mounted. The directory is removed at the end. */
#include "tap.h"
#include "proc.h"

#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

#define TMPFS_MAGIC 0x01021994

static char base[64];
static char self_exe[4096];

/* base/name in a static buffer (one of eight, so a call may take several). */
static const char *at(const char *name)
{
	static char bufs[8][128];
	static int next;
	char *b = bufs[next++ % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", base, name);
	return b;
}

static int put(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, data, strlen(data));
	close(fd);
	return n == (ssize_t)strlen(data) ? 0 : -1;
}

static int exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* A private mount namespace for this child: the only place mounts go. */
static int private_ns(void)
{
	if (unshare(CLONE_NEWNS) == -1)
		return -1;
	return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

/* Whether a line of /proc/self/mounts has mount point `point`, type
 * `type` and (when opt is not NULL) the option `opt`. */
static int in_mounts(const char *point, const char *type, const char *opt)
{
	char line[1024], p[512], t[64], o[512];
	FILE *f = fopen("/proc/self/mounts", "re");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char opts[520];

		if (sscanf(line, "%*s %511s %63s %511s", p, t, o) != 3)
			continue;
		snprintf(opts, sizeof(opts), ",%s,", o);
		if (strcmp(p, point) == 0 && strcmp(t, type) == 0) {
			char want[80];

			snprintf(want, sizeof(want), ",%s,", opt ? opt : "");
			found = !opt || strstr(opts, want) != NULL;
		}
	}
	fclose(f);
	return found;
}

/* Whether mountinfo has a line whose mount point (field 5) is `point`. */
static int in_mountinfo(const char *point)
{
	char line[1024], p[512];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %511s", p) == 1)
			found = strcmp(p, point) == 0;
	fclose(f);
	return found;
}

/* The exit status of a child made by clone(CLONE_NEWNS), or -errno. */
static long clone_newns(void)
{
	int st;
	long pid = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);

	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return -errno;
	if (reap((pid_t)pid, &st, 2000) != 1 || !WIFEXITED(st))
		return -1000;
	return WEXITSTATUS(st);
}

/* Whether mountinfo's root field (field 4) for mount point `point` ends
 * with `suffix` (a bind's root is its source's path in its file system,
 * whose own mount point differs from host to host). */
static int mountinfo_root_ends(const char *point, const char *suffix)
{
	char line[1024], root[512], p[512];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	size_t rl, sl = strlen(suffix);
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %*s %511s %511s", root, p) != 2 ||
		    strcmp(p, point) != 0)
			continue;
		rl = strlen(root);
		found = rl >= sl && strcmp(root + rl - sl, suffix) == 0;
	}
	fclose(f);
	return found;
}

/* ---- errors ---------------------------------------------------------------- */

#define ERRORS_POINTS 20
static void errors(void *arg)
{
	(void)arg;
	if (private_ns() == -1) {
		s_okf(0, "a private mount namespace", "%s", tap_errname(errno));
		return;
	}
	S_OK(1, "a private mount namespace");
	S_CHECK_ERR("mount with a bad target pointer is EFAULT",
		    syscall(SYS_mount, "tmpfs", BAD_PTR, "tmpfs", 0, NULL),
		    EFAULT);
	S_CHECK_ERR("mount with a bad type pointer is EFAULT",
		    syscall(SYS_mount, "tmpfs", at("mnt"), BAD_PTR, 0, NULL),
		    EFAULT);
	S_CHECK_ERR("mount on a missing target is ENOENT",
		    mount("tmpfs", at("nope"), "tmpfs", 0, NULL), ENOENT);
	S_CHECK_ERR("mount through a file is ENOTDIR",
		    mount("tmpfs", at("file/x"), "tmpfs", 0, NULL), ENOTDIR);
	S_CHECK_ERR("a new tmpfs on a file is ENOTDIR",
		    mount("tmpfs", at("file"), "tmpfs", 0, NULL), ENOTDIR);
	S_CHECK_ERR("an unknown file system type is ENODEV",
		    mount("none", at("mnt"), "wardnosuchfs", 0, NULL), ENODEV);
	S_CHECK_ERR("a new mount without a type is EINVAL",
		    mount("tmpfs", at("mnt"), NULL, 0, NULL), EINVAL);
	S_CHECK_ERR("an unknown tmpfs option is EINVAL",
		    mount("tmpfs", at("mnt"), "tmpfs", 0, "bogus=1"), EINVAL);
	S_CHECK_ERR("MS_REMOUNT of a directory that is no mount is EINVAL",
		    mount(NULL, at("mnt"), NULL, MS_REMOUNT | MS_RDONLY, NULL),
		    EINVAL);
	S_CHECK_ERR("MS_PRIVATE on a directory that is no mount is EINVAL",
		    mount(NULL, at("mnt"), NULL, MS_PRIVATE, NULL), EINVAL);
	S_CHECK_ERR("MS_BIND without a source is EINVAL",
		    mount(NULL, at("mnt"), NULL, MS_BIND, NULL), EINVAL);
	S_CHECK_ERR("MS_BIND of a missing source is ENOENT",
		    mount(at("nope"), at("mnt"), NULL, MS_BIND, NULL), ENOENT);
	S_CHECK_ERR("MS_BIND of a directory on a file is ENOTDIR",
		    mount(at("src"), at("file"), NULL, MS_BIND, NULL), ENOTDIR);
	S_CHECK_ERR("umount2 of a directory that is no mount is EINVAL",
		    umount2(at("mnt"), 0), EINVAL);
	S_CHECK_ERR("umount2 of a missing path is ENOENT",
		    umount2(at("nope"), 0), ENOENT);
	S_CHECK_ERR("umount2 with an unknown flag is EINVAL",
		    umount2(at("mnt"), 0x100), EINVAL);
	S_CHECK_ERR("umount2 with a bad pointer is EFAULT",
		    syscall(SYS_umount2, BAD_PTR, 0), EFAULT);
	S_CHECK_ERR("unshare with an unknown flag is EINVAL", unshare(0x1),
		    EINVAL);
	S_EQ("clone(CLONE_NEWNS) makes a child", clone_newns(), 0);
}

/* ---- a new tmpfs ----------------------------------------------------------- */

#define TMPFS_POINTS 20
static void new_tmpfs(void *arg)
{
	struct stat st, bst;
	struct statfs sfs;
	int fd;

	(void)arg;
	if (private_ns() == -1 || put(at("mnt/under"), "x") == -1) {
		s_okf(0, "setup", "%s", tap_errname(errno));
		return;
	}
	S_CHECK("mount a tmpfs with size=1m,mode=0710",
		mount("tmpfs", at("mnt"), "tmpfs", MS_NOSUID | MS_NODEV,
		      "size=1m,mode=0710"),
		0, 0);
	S_OK(statfs(at("mnt"), &sfs) == 0 && sfs.f_type == TMPFS_MAGIC,
	     "statfs says tmpfs");
	S_EQ("its size is 1 MiB", (long long)sfs.f_blocks * sfs.f_bsize,
	     1 << 20);
	S_TRUE("statfs shows nosuid and nodev",
	       (sfs.f_flags & (ST_NOSUID | ST_NODEV)) == (ST_NOSUID | ST_NODEV));
	S_OK(stat(at("mnt"), &st) == 0 && (st.st_mode & 07777) == 0710,
	     "its root has mode 0710");
	S_OK(stat(base, &bst) == 0 && bst.st_dev != st.st_dev,
	     "it is another device");
	S_TRUE("what was under the mount point is hidden",
	       !exists(at("mnt/under")));
	S_CHECK("a file can be made in it", put(at("mnt/new"), "data"), 0, 0);
	S_CHECK("mknod of a character device in it",
		mknod(at("mnt/null"), S_IFCHR | 0666, makedev(1, 3)), 0, 0);
	S_CHECK_ERR("opening it on a nodev mount is EACCES",
		    open(at("mnt/null"), O_RDONLY), EACCES);
	S_TRUE("/proc/self/mounts lists it, rw",
	       in_mounts(at("mnt"), "tmpfs", "rw"));
	S_TRUE("with its nosuid option", in_mounts(at("mnt"), "tmpfs", "nosuid"));
	S_TRUE("/proc/self/mountinfo lists it", in_mountinfo(at("mnt")));
	S_CHECK_ERR("rmdir of the mount point is EBUSY", rmdir(at("mnt")),
		    EBUSY);
	fd = open(at("mnt/new"), O_RDONLY);
	S_CHECK_ERR("umount2 with a file open in it is EBUSY",
		    umount2(at("mnt"), 0), EBUSY);
	close(fd);
	if (chdir(at("mnt")) == 0) {
		S_CHECK_ERR("umount2 with the cwd in it is EBUSY",
			    umount2(at("mnt"), 0), EBUSY);
		if (chdir("/") == -1)
			_exit(1);
	} else {
		S_OK(0, "umount2 with the cwd in it is EBUSY");
	}
	S_CHECK("umount2 of the idle mount", umount2(at("mnt"), 0), 0, 0);
	S_TRUE("what was under it is back", exists(at("mnt/under")));
	S_TRUE("its files are gone", !exists(at("mnt/new")));
	S_TRUE("/proc/self/mounts no longer lists it",
	       !in_mounts(at("mnt"), "tmpfs", NULL));
	unlink(at("mnt/under"));
}

/* ---- read-only ------------------------------------------------------------- */

#define RO_POINTS 17
static void read_only(void *arg)
{
	struct statfs sfs;
	char buf[16];

	(void)arg;
	if (private_ns() == -1) {
		s_okf(0, "setup", "%s", tap_errname(errno));
		return;
	}
	S_CHECK("mount a read-only tmpfs",
		mount("tmpfs", at("mnt"), "tmpfs", MS_RDONLY, NULL), 0, 0);
	S_CHECK_ERR("creating a file in it is EROFS",
		    open(at("mnt/f"), O_CREAT | O_WRONLY, 0644), EROFS);
	S_OK(statfs(at("mnt"), &sfs) == 0 && (sfs.f_flags & ST_RDONLY),
	     "statfs says ST_RDONLY");
	S_TRUE("/proc/self/mounts says ro", in_mounts(at("mnt"), "tmpfs", "ro"));
	S_CHECK("MS_REMOUNT makes it read-write",
		mount(NULL, at("mnt"), NULL, MS_REMOUNT, NULL), 0, 0);
	S_CHECK("a file can be made now", put(at("mnt/f"), "abc"), 0, 0);
	S_CHECK("MS_REMOUNT|MS_RDONLY makes it read-only again",
		mount(NULL, at("mnt"), NULL, MS_REMOUNT | MS_RDONLY, NULL), 0,
		0);
	S_CHECK_ERR("opening its file for writing is EROFS",
		    open(at("mnt/f"), O_WRONLY), EROFS);
	S_CHECK_ERR("mkdir in it is EROFS", mkdir(at("mnt/d"), 0755), EROFS);
	S_EQ("reading still works", slurp(at("mnt/f"), buf, sizeof(buf)), 3);
	S_CHECK("MS_REMOUNT|MS_BIND without MS_RDONLY",
		mount(NULL, at("mnt"), NULL, MS_REMOUNT | MS_BIND, NULL), 0, 0);
	S_CHECK_ERR("leaves the file system read-only: unlink is EROFS",
		    unlink(at("mnt/f")), EROFS);
	S_OK(mount(NULL, at("mnt"), NULL, MS_REMOUNT, NULL) == 0 &&
		     unlink(at("mnt/f")) == 0,
	     "MS_REMOUNT makes it writable: unlink works");
	S_CHECK("MS_REMOUNT|MS_BIND|MS_RDONLY",
		mount(NULL, at("mnt"), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY,
		      NULL),
		0, 0);
	S_CHECK_ERR("then creating a file is EROFS",
		    open(at("mnt/g"), O_CREAT | O_WRONLY, 0644), EROFS);
	S_OK(mount(NULL, at("mnt"), NULL, MS_REMOUNT | MS_BIND, NULL) == 0 &&
		     put(at("mnt/g"), "g") == 0,
	     "MS_REMOUNT|MS_BIND makes the mount writable again");
	S_CHECK("umount2", umount2(at("mnt"), 0), 0, 0);
}

/* ---- bind mounts ----------------------------------------------------------- */

#define BIND_POINTS 18
static void bind_mounts(void *arg)
{
	struct stat a, b;
	char buf[64];

	(void)arg;
	if (private_ns() == -1) {
		s_okf(0, "setup", "%s", tap_errname(errno));
		return;
	}
	S_CHECK("bind a directory", mount(at("src"), at("mnt"), NULL, MS_BIND, NULL),
		0, 0);
	S_OK(slurp(at("mnt/data"), buf, sizeof(buf)) == 4 &&
		     strcmp(buf, "src\n") == 0,
	     "its files show through the bind");
	S_OK(stat(at("mnt/data"), &a) == 0 && stat(at("src/data"), &b) == 0 &&
		     a.st_ino == b.st_ino && a.st_dev == b.st_dev,
	     "as the same file");
	snprintf(buf, sizeof(buf), "%s/src", strrchr(base, '/'));
	S_TRUE("mountinfo gives the bind's root in its file system",
	       mountinfo_root_ends(at("mnt"), buf));
	S_CHECK("a file made through the bind", put(at("mnt/made"), "m"), 0, 0);
	S_TRUE("is in the source directory", exists(at("src/made")));
	unlink(at("src/made"));
	S_CHECK("bind a file on a file",
		mount(at("src/data"), at("file"), NULL, MS_BIND, NULL), 0, 0);
	S_OK(slurp(at("file"), buf, sizeof(buf)) == 4 && strcmp(buf, "src\n") == 0,
	     "the target file shows the source's data");
	S_CHECK("umount2 of the file bind", umount2(at("file"), 0), 0, 0);

	/* A mount below the source: MS_REC brings it, plain MS_BIND does not. */
	S_CHECK("mount a tmpfs below the source",
		mount("tmpfs", at("src/sub"), "tmpfs", 0, NULL), 0, 0);
	S_CHECK("with a file in it", put(at("src/sub/inner"), "i"), 0, 0);
	S_TRUE("a plain bind made before does not show it",
	       !exists(at("mnt/sub/inner")));
	S_CHECK("MS_BIND|MS_REC of the source",
		mount(at("src"), at("mnt2"), NULL, MS_BIND | MS_REC, NULL), 0,
		0);
	S_TRUE("the recursive bind shows the mount below",
	       exists(at("mnt2/sub/inner")));
	S_CHECK_ERR("umount2 of a mount with a mount below is EBUSY",
		    umount2(at("mnt2"), 0), EBUSY);
	S_CHECK("MNT_DETACH takes it and the one below",
		umount2(at("mnt2"), MNT_DETACH), 0, 0);
	S_TRUE("the mount point is empty again",
	       !exists(at("mnt2/sub")) && !exists(at("mnt2/data")));
	S_OK(umount2(at("src/sub"), 0) == 0 && umount2(at("mnt"), 0) == 0,
	     "umount2 of the rest");
}

/* ---- MS_MOVE -------------------------------------------------------------- */

#define MOVE_POINTS 9
static void move(void *arg)
{
	(void)arg;
	if (private_ns() == -1) {
		s_okf(0, "setup", "%s", tap_errname(errno));
		return;
	}
	S_CHECK("mount a tmpfs", mount("tmpfs", at("mnt"), "tmpfs", 0, NULL), 0,
		0);
	S_OK(put(at("mnt/f"), "f") == 0 && mkdir(at("mnt/d"), 0755) == 0,
	     "with a file and a directory");
	S_CHECK_ERR("MS_MOVE of a directory that is no mount is EINVAL",
		    mount(at("src"), at("mnt2"), NULL, MS_MOVE, NULL), EINVAL);
	S_CHECK_ERR("MS_MOVE of a mount into itself is ELOOP",
		    mount(at("mnt"), at("mnt/d"), NULL, MS_MOVE, NULL), ELOOP);
	S_CHECK("MS_MOVE to another directory",
		mount(at("mnt"), at("mnt2"), NULL, MS_MOVE, NULL), 0, 0);
	S_TRUE("its files are at the new place", exists(at("mnt2/f")));
	S_TRUE("and not at the old", !exists(at("mnt/f")));
	S_TRUE("/proc/self/mounts lists the new place only",
	       in_mounts(at("mnt2"), "tmpfs", NULL) &&
		       !in_mounts(at("mnt"), "tmpfs", NULL));
	S_CHECK("umount2 at the new place", umount2(at("mnt2"), 0), 0, 0);
}

/* ---- noexec, propagation flags ------------------------------------------- */

static int copy_self(const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(self_exe, O_RDONLY), out;

	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (in < 0 || out < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return -1;
	close(in);
	return close(out);
}

/* The exit status of running prog with `arg` (as nobody when `nobody`),
 * or 100 + errno when execve failed. fd >= 0: execveat of that fd. */
static int run_how(const char *prog, const char *arg, int nobody, int fd)
{
	char *argv[] = { (char *)prog, (char *)arg, NULL };
	char *envp[] = { NULL };
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		if (nobody && (setgid(65534) == -1 || setuid(65534) == -1))
			_exit(99);
		if (fd >= 0)
			syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
		else
			execve(prog, argv, envp);
		_exit(100 + errno);
	}
	if (reap(pid, &st, 2000) != 1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static int run(const char *prog)
{
	return run_how(prog, "--noop", 0, -1);
}

#define FLAGS_POINTS 13
static void flags_points(void *arg)
{
	struct statfs sfs;
	void *p;
	int fd;

	(void)arg;
	if (private_ns() == -1) {
		s_okf(0, "setup", "%s", tap_errname(errno));
		return;
	}
	S_CHECK("mount a tmpfs with MS_NOEXEC",
		mount("tmpfs", at("mnt"), "tmpfs", MS_NOEXEC, NULL), 0, 0);
	S_CHECK("copy a program into it", copy_self(at("mnt/prog")), 0, 0);
	S_EQ("execve from a noexec mount is EACCES", run(at("mnt/prog")),
	     100 + EACCES);
	fd = open(at("mnt/prog"), O_RDONLY);
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	s_okf(p == MAP_FAILED && errno == EPERM,
	      "mmap with PROT_EXEC of a file on it is EPERM", "got %s",
	      p == MAP_FAILED ? tap_errname(errno) : "a mapping");
	if (p != MAP_FAILED)
		munmap(p, 4096);
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	S_OK(p != MAP_FAILED, "mmap without PROT_EXEC works");
	if (p != MAP_FAILED)
		munmap(p, 4096);
	S_EQ("execveat of a file on it is EACCES",
	     run_how(at("mnt/prog"), "--noop", 0, fd), 100 + EACCES);
	close(fd);
	S_OK(statfs(at("mnt"), &sfs) == 0 && (sfs.f_flags & ST_NOEXEC),
	     "statfs says ST_NOEXEC");
	S_TRUE("/proc/self/mounts says noexec",
	       in_mounts(at("mnt"), "tmpfs", "noexec"));
	S_CHECK("MS_REMOUNT without MS_NOEXEC",
		mount(NULL, at("mnt"), NULL, MS_REMOUNT, NULL), 0, 0);
	S_EQ("now the program runs", run(at("mnt/prog")), 0);
	S_CHECK("MS_SHARED on the mount", mount(NULL, at("mnt"), NULL, MS_SHARED, NULL),
		0, 0);
	S_CHECK_ERR("MS_PRIVATE|MS_SHARED together is EINVAL",
		    mount(NULL, at("mnt"), NULL, MS_PRIVATE | MS_SHARED, NULL),
		    EINVAL);
	S_CHECK("MS_REC|MS_SLAVE, then umount2",
		mount(NULL, at("mnt"), NULL, MS_REC | MS_SLAVE, NULL) ||
			umount2(at("mnt"), MNT_DETACH),
		0, 0);
}

/* ---- nosuid ---------------------------------------------------------------- */

#define NOSUID_POINTS 5
static void nosuid(void *arg)
{
	(void)arg;
	if (private_ns() == -1) {
		s_okf(0, "setup", "%s", tap_errname(errno));
		return;
	}
	S_CHECK("mount a tmpfs with MS_NOSUID",
		mount("tmpfs", at("mnt"), "tmpfs", MS_NOSUID, NULL), 0, 0);
	S_OK(copy_self(at("mnt/prog")) == 0 && chown(at("mnt/prog"), 0, 0) == 0 &&
		     chmod(at("mnt/prog"), 04755) == 0,
	     "a set-user-ID root program in it");
	S_EQ("run by nobody it keeps nobody's euid", run_how(at("mnt/prog"), "--euid", 1, -1),
	     20);
	S_CHECK("MS_REMOUNT without MS_NOSUID",
		mount(NULL, at("mnt"), NULL, MS_REMOUNT, NULL), 0, 0);
	S_EQ("now it runs as root", run_how(at("mnt/prog"), "--euid", 1, -1), 10);
	umount2(at("mnt"), MNT_DETACH);
}

/* ---- unprivileged ---------------------------------------------------------- */

#define NOBODY_POINTS 6
static void nobody(void *arg)
{
	(void)arg;
	if (setgid(65534) == -1 || setuid(65534) == -1) {
		S_OK(0, "becoming nobody");
		return;
	}
	S_CHECK_ERR("mount without CAP_SYS_ADMIN is EPERM",
		    mount("tmpfs", at("mnt"), "tmpfs", 0, NULL), EPERM);
	S_CHECK_ERR("a missing target is still ENOENT",
		    mount("tmpfs", at("nope"), "tmpfs", 0, NULL), ENOENT);
	S_CHECK_ERR("umount2 without CAP_SYS_ADMIN is EPERM",
		    umount2(at("mnt"), 0), EPERM);
	S_CHECK_ERR("umount2 of a missing path is still ENOENT",
		    umount2(at("nope"), 0), ENOENT);
	S_CHECK_ERR("unshare(CLONE_NEWNS) without CAP_SYS_ADMIN is EPERM",
		    unshare(CLONE_NEWNS), EPERM);
	S_EQ("clone(CLONE_NEWNS) without CAP_SYS_ADMIN is EPERM", clone_newns(),
	     -EPERM);
}

static int setup(void)
{
	snprintf(base, sizeof(base), "/tmp/ward-mount-%d", (int)getpid());
	if (mkdir(base, 0755) == -1 || chmod(base, 0755) == -1)
		return -1;
	return mkdir(at("mnt"), 0755) || mkdir(at("mnt2"), 0755) ||
	       mkdir(at("src"), 0755) || mkdir(at("src/sub"), 0755) ||
	       put(at("src/data"), "src\n") || put(at("file"), "file\n");
}

static void cleanup(void)
{
	unlink(at("mnt/prog"));
	unlink(at("src/data"));
	unlink(at("file"));
	rmdir(at("src/sub"));
	rmdir(at("src"));
	rmdir(at("mnt"));
	rmdir(at("mnt2"));
	rmdir(base);
}

int main(int argc, char **argv)
{
	ssize_t n;

	if (argc > 1 && strcmp(argv[1], "--noop") == 0)
		return 0;
	if (argc > 1 && strcmp(argv[1], "--euid") == 0)
		return geteuid() == 0 ? 10 : 20;
	plan(ERRORS_POINTS + TMPFS_POINTS + RO_POINTS + BIND_POINTS +
	     MOVE_POINTS + FLAGS_POINTS + NOSUID_POINTS + NOBODY_POINTS);
	if (geteuid() != 0) {
		printf("Bail out! mount needs root\n");
		return 1;
	}
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	self_exe[n > 0 ? n : 0] = '\0';
	if (setup() == -1) {
		printf("Bail out! cannot make a directory tree in /tmp (%s)\n",
		       tap_errname(errno));
		cleanup();
		return 1;
	}
	scenario("errors", ERRORS_POINTS, errors, NULL);
	scenario("new_tmpfs", TMPFS_POINTS, new_tmpfs, NULL);
	scenario("read_only", RO_POINTS, read_only, NULL);
	scenario("bind_mounts", BIND_POINTS, bind_mounts, NULL);
	scenario("move", MOVE_POINTS, move, NULL);
	scenario("flags", FLAGS_POINTS, flags_points, NULL);
	scenario("nosuid", NOSUID_POINTS, nosuid, NULL);
	scenario("nobody", NOBODY_POINTS, nobody, NULL);
	cleanup();
	return done();
}
