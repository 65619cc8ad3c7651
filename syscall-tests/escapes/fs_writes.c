/*
 * fs_writes: writes that must never reach the host. Under `ward do` the root
 * is the host's, read-only, under an in-memory overlay: every one of these
 * writes may succeed inside the sandbox, but no /tmp/TAG-* file may appear
 * on the host (the harness looks). Natively each one creates its marker.
 */
#include "escape.h"

#include <linux/openat2.h>
#include <sched.h>
#include <sys/mount.h>

static char m_direct[256], m_procroot[256], m_proc1root[256], m_victimroot[256], m_cwd[256],
	m_dotdot[256], m_symtarget[256], m_hardlink[256], m_hostlink[256],
	m_viabind[256], m_openat2[256], m_beneath[256], m_tmpfile[256];

static enum verdict direct(void)
{
	return write_marker(m_direct);
}

static enum verdict proc_self_root(void)
{
	char path[300];

	snprintf(path, sizeof(path), "/proc/self/root%s", m_procroot);
	return write_marker(path);
}

static enum verdict proc_1_root(void)
{
	char path[300];

	snprintf(path, sizeof(path), "/proc/1/root%s", m_proc1root);
	return write_marker(path);
}

/* The victim is a host process natively; no such pid in the sandbox. */
static enum verdict proc_victim_root(void)
{
	char path[300];

	snprintf(path, sizeof(path), "/proc/%d/root%s", (int)esc_victim,
		 m_victimroot);
	return write_marker(path);
}

static enum verdict proc_self_cwd(void)
{
	char path[300];

	if (chdir("/tmp") != 0) {
		detail("chdir /tmp: %s", strerror(errno));
		return REFUSED;
	}
	snprintf(path, sizeof(path), "/proc/self/cwd/%s", m_cwd + 5);
	return write_marker(path);
}

static enum verdict dotdot(void)
{
	char path[300];

	snprintf(path, sizeof(path), "/tmp/../../../../../..%s", m_dotdot);
	return write_marker(path);
}

static enum verdict symlink_out(void)
{
	char link[256];

	snprintf(link, sizeof(link), "/tmp/%s-symlink", esc_tag);
	if (symlink(m_symtarget, link) != 0) {
		detail("symlink: %s", strerror(errno));
		return REFUSED;
	}
	return write_marker(link);
}

static enum verdict hardlink_out(void)
{
	char src[256];
	enum verdict v;

	snprintf(src, sizeof(src), "/tmp/%s-hlsrc", esc_tag);
	v = write_marker(src);
	if (v != WROTE)
		return v;
	if (link(src, m_hardlink) != 0) {
		detail("link: %s", strerror(errno));
		return REFUSED;
	}
	return write_marker(m_hardlink);
}

/* Links a host file (never written) into /tmp. */
static enum verdict hardlink_host_file(void)
{
	if (link("/etc/hostname", m_hostlink) != 0) {
		detail("link /etc/hostname: %s", strerror(errno));
		return REFUSED;
	}
	detail("linked /etc/hostname to %s", m_hostlink);
	return WROTE;
}

/*
 * Bind-mounts / in a private mount namespace (natively the bind must never
 * propagate to the host's table: without a private namespace the attack
 * stops) and writes through the bind mount.
 */
static enum verdict bind_root(void)
{
	char dir[256], path[600];

	if (unshare(CLONE_NEWNS) != 0 &&
	    unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
		detail("unshare: %s", strerror(errno));
		return REFUSED;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		detail("make / private: %s", strerror(errno));
		return REFUSED;
	}
	snprintf(dir, sizeof(dir), "/tmp/%s-bind", esc_tag);
	if (mkdir(dir, 0755) != 0) {
		detail("mkdir %s: %s", dir, strerror(errno));
		return REFUSED;
	}
	if (mount("/", dir, NULL, MS_BIND | MS_REC, NULL) != 0 &&
	    mount("/", dir, NULL, MS_BIND, NULL) != 0) {
		detail("bind / on %s: %s", dir, strerror(errno));
		return REFUSED;
	}
	snprintf(path, sizeof(path), "%s%s", dir, m_viabind);
	return write_marker(path);
}

static long sys_openat2(int dfd, const char *path, struct open_how *how)
{
	long r;

	/* Linux answers EAGAIN for ".." under RESOLVE_BENEATH/IN_ROOT when a
	 * rename anywhere raced the walk: try again, as its man page says. */
	for (int tries = 0; tries < 1000; tries++) {
		r = syscall(SYS_openat2, dfd, path, how, sizeof(*how));
		if (r >= 0 || errno != EAGAIN)
			break;
	}
	return r;
}

/* openat2 through the /proc/self/fd magic link of a /tmp directory fd. */
static enum verdict openat2_magiclink(void)
{
	struct open_how how = { .flags = O_WRONLY | O_CREAT, .mode = 0644 };
	char path[300];
	int dfd = open("/tmp", O_PATH | O_DIRECTORY);
	long fd;

	if (dfd < 0) {
		detail("open /tmp: %s", strerror(errno));
		return REFUSED;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, m_openat2 + 5);
	fd = sys_openat2(AT_FDCWD, path, &how);
	if (fd < 0) {
		detail("openat2 %s: %s", path, strerror(errno));
		return REFUSED;
	}
	close((int)fd);
	detail("openat2 created %s", path);
	return WROTE;
}

/* openat2 RESOLVE_IN_ROOT from a dirfd of / with a .. chain. */
static enum verdict openat2_in_root(void)
{
	struct open_how how = {
		.flags = O_WRONLY | O_CREAT,
		.mode = 0644,
		.resolve = RESOLVE_IN_ROOT,
	};
	char path[300];
	int dfd = open("/", O_PATH | O_DIRECTORY);
	long fd;

	if (dfd < 0) {
		detail("open /: %s", strerror(errno));
		return REFUSED;
	}
	snprintf(path, sizeof(path), "../../..%s", m_beneath);
	fd = sys_openat2(dfd, path, &how);
	if (fd < 0) {
		detail("openat2 %s: %s", path, strerror(errno));
		return REFUSED;
	}
	close((int)fd);
	detail("openat2 created %s", path);
	return WROTE;
}

/* An unnamed O_TMPFILE file given a name in /tmp by linkat. */
static enum verdict tmpfile_linkat(void)
{
	char proc[64];
	int fd = open("/tmp", O_TMPFILE | O_WRONLY, 0644);

	if (fd < 0) {
		detail("O_TMPFILE: %s", strerror(errno));
		return REFUSED;
	}
	if (write(fd, "escape\n", 7) != 7) {
		detail("write: %s", strerror(errno));
		return REFUSED;
	}
	if (linkat(fd, "", AT_FDCWD, m_tmpfile, AT_EMPTY_PATH) == 0) {
		detail("linkat AT_EMPTY_PATH to %s", m_tmpfile);
		return WROTE;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, m_tmpfile, AT_SYMLINK_FOLLOW) != 0) {
		detail("linkat: %s", strerror(errno));
		return REFUSED;
	}
	detail("linkat via %s to %s", proc, m_tmpfile);
	return WROTE;
}

int main(int argc, char **argv)
{
	escape_init(argc, argv);
	marker_path(m_direct, sizeof(m_direct), "direct");
	marker_path(m_procroot, sizeof(m_procroot), "procroot");
	marker_path(m_proc1root, sizeof(m_proc1root), "proc1root");
	marker_path(m_victimroot, sizeof(m_victimroot), "victimroot");
	marker_path(m_cwd, sizeof(m_cwd), "cwd");
	marker_path(m_dotdot, sizeof(m_dotdot), "dotdot");
	marker_path(m_symtarget, sizeof(m_symtarget), "symtarget");
	marker_path(m_hardlink, sizeof(m_hardlink), "hardlink");
	marker_path(m_hostlink, sizeof(m_hostlink), "hostlink");
	marker_path(m_viabind, sizeof(m_viabind), "viabind");
	marker_path(m_openat2, sizeof(m_openat2), "openat2");
	marker_path(m_beneath, sizeof(m_beneath), "inroot");
	marker_path(m_tmpfile, sizeof(m_tmpfile), "tmpfile");

	attack("write_tmp", NATIVE_ESCAPES, m_direct, direct, 10);
	attack("write_proc_self_root", NATIVE_ESCAPES, m_procroot, proc_self_root, 10);
	/* The host's init may be out of reach even for root (another user
	 * namespace): natively not always meaningful. */
	attack("write_proc_1_root", NATIVE_NA, m_proc1root, proc_1_root, 10);
	attack("write_proc_victim_root", NATIVE_AS_ROOT, m_victimroot, proc_victim_root, 10);
	attack("write_proc_self_cwd", NATIVE_ESCAPES, m_cwd, proc_self_cwd, 10);
	attack("write_dotdot_chain", NATIVE_ESCAPES, m_dotdot, dotdot, 10);
	attack("write_through_symlink", NATIVE_ESCAPES, m_symtarget, symlink_out, 10);
	attack("write_through_hardlink", NATIVE_ESCAPES, m_hardlink, hardlink_out, 10);
	attack("hardlink_host_file", NATIVE_AS_ROOT, m_hostlink, hardlink_host_file, 10);
	attack("write_through_bind_of_root", NATIVE_AS_ROOT, m_viabind, bind_root, 10);
	attack("openat2_proc_fd_magiclink", NATIVE_ESCAPES, m_openat2, openat2_magiclink, 10);
	attack("openat2_resolve_in_root", NATIVE_ESCAPES, m_beneath, openat2_in_root, 10);
	attack("tmpfile_linkat", NATIVE_ESCAPES, m_tmpfile, tmpfile_linkat, 10);
	return escape_done();
}
