/* Changing identity: setuid, setgid, setre[ug]id, setres[ug]id, setgroups,
 * setfsuid, capget/capset and the capability prctls, and what a dropped
 * identity may no longer do (EACCES on a root file, EPERM on kill). Needs
 * root; every change of identity happens in a scenario child. */
#include "tap.h"
#include "proc.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#define NOBODY 65534
#define SHADOW "/etc/shadow"

static char dir[64];
static char secret[96];

struct caps {
	unsigned long long eff, prm, inh;
};

static int get_caps(struct caps *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) != 0)
		return -1;
	c->eff = d[0].effective | (unsigned long long)d[1].effective << 32;
	c->prm = d[0].permitted | (unsigned long long)d[1].permitted << 32;
	c->inh = d[0].inheritable | (unsigned long long)d[1].inheritable << 32;
	return 0;
}

static long set_caps(unsigned long long eff, unsigned long long prm,
		     unsigned long long inh)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {
		{ (unsigned)eff, (unsigned)prm, (unsigned)inh },
		{ (unsigned)(eff >> 32), (unsigned)(prm >> 32),
		  (unsigned)(inh >> 32) },
	};

	return syscall(SYS_capset, &h, d);
}

#define BIT(c) (1ULL << (c))

static int can_open(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static void resuid_scenario(void *arg)
{
	uid_t r = 1, e = 1, s = 1;
	struct caps c;

	(void)arg;
	S_CHECK_OK("setresuid(1000, 1000, 0) as root", setresuid(1000, 1000, 0));
	getresuid(&r, &e, &s);
	S_TRUE("getresuid reads 1000, 1000, 0", r == 1000 && e == 1000 && s == 0);
	get_caps(&c);
	S_TRUE("a non-root euid has no effective capabilities but keeps them permitted",
	       c.eff == 0 && (c.prm & BIT(CAP_SETUID)));
	S_CHECK_ERR("setuid(2000) with a root saved uid but no capability gives EPERM",
		    setuid(2000), EPERM);
	S_CHECK_OK("the saved root uid allows setresuid(0, 0, 0)", setresuid(0, 0, 0));
	get_caps(&c);
	S_TRUE("returning to euid 0 restores the effective set",
	       c.eff == c.prm && (c.eff & BIT(CAP_SETUID)));
	S_CHECK_OK("seteuid(65534)", seteuid(NOBODY));
	getresuid(&r, &e, &s);
	S_TRUE("seteuid leaves the real and saved uids", r == 0 && e == NOBODY && s == 0);
	S_CHECK_OK("seteuid(0) comes back", seteuid(0));
	S_CHECK_OK("setreuid(1000, 2000)", setreuid(1000, 2000));
	getresuid(&r, &e, &s);
	S_TRUE("setreuid with a real uid sets the saved uid to the new euid",
	       r == 1000 && e == 2000 && s == 2000);
	S_CHECK_OK("an unprivileged setreuid may swap real and effective",
		   setreuid(2000, 1000));
	S_CHECK_ERR("but not pick a third uid", setreuid(3000, -1), EPERM);
	S_CHECK_ERR("setuid(-1) gives EINVAL", syscall(SYS_setuid, -1), EINVAL);
}

static void drop_scenario(void *arg)
{
	uid_t r = 1, e = 1, s = 1;
	gid_t g;
	struct caps c;

	(void)arg;
	S_CHECK_OK("setgroups(0) as root", setgroups(0, NULL));
	S_CHECK_OK("setgid(65534) as root", setgid(NOBODY));
	S_CHECK_OK("setuid(65534) as root", setuid(NOBODY));
	getresuid(&r, &e, &s);
	S_TRUE("setuid as root sets all three uids",
	       r == NOBODY && e == NOBODY && s == NOBODY);
	get_caps(&c);
	S_TRUE("and clears the permitted and effective sets", c.eff == 0 && c.prm == 0);
	S_CHECK_ERR("setuid(0) afterwards gives EPERM", setuid(0), EPERM);
	S_CHECK_ERR("seteuid(0) gives EPERM", seteuid(0), EPERM);
	S_CHECK_ERR("setresuid(-1, 0, -1) gives EPERM", setresuid(-1, 0, -1), EPERM);
	S_CHECK_ERR("setgid(0) gives EPERM", setgid(0), EPERM);
	g = 0;
	S_CHECK_ERR("setgroups gives EPERM", setgroups(1, &g), EPERM);
	S_CHECK("setfsuid(0) returns the old fsuid", syscall(SYS_setfsuid, 0),
		NOBODY, 0);
	S_CHECK("and changes nothing", syscall(SYS_setfsuid, -1), NOBODY, 0);
	S_EQ("a 0600 root file cannot be opened", can_open(secret, O_RDONLY), -EACCES);
	S_CHECK_ERR("access(R_OK) on it gives EACCES", access(secret, R_OK), EACCES);
	if (access(SHADOW, F_OK) == 0)
		S_CHECK_ERR("/etc/shadow cannot be read", open(SHADOW, O_RDONLY), EACCES);
	else
		s_skip("/etc/shadow cannot be read", "no /etc/shadow");
	S_CHECK_ERR("kill(0) of a root parent gives EPERM", kill(getppid(), 0), EPERM);
	S_CHECK_OK("kill(0) of oneself is allowed", kill(getpid(), 0));
	S_CHECK_ERR("PR_CAPBSET_DROP without CAP_SETPCAP gives EPERM",
		    prctl(PR_CAPBSET_DROP, CAP_CHOWN, 0, 0, 0), EPERM);
}

static void fsuid_scenario(void *arg)
{
	(void)arg;
	S_CHECK("setfsuid(65534) as root returns 0", syscall(SYS_setfsuid, NOBODY), 0, 0);
	S_EQ("a 0600 root file is closed to fsuid 65534", can_open(secret, O_RDONLY), -EACCES);
	S_EQ("the euid is still 0", geteuid(), 0);
	S_CHECK("setfsuid(0) returns 65534", syscall(SYS_setfsuid, 0), NOBODY, 0);
	S_EQ("and the file opens again", can_open(secret, O_RDONLY), 0);
}

static void capset_scenario(void *arg)
{
	struct caps c;
	const unsigned long long dac = BIT(CAP_DAC_OVERRIDE) | BIT(CAP_DAC_READ_SEARCH);

	(void)arg;
	S_CHECK_OK("chown the secret to uid 1", chown(secret, 1, 1));
	S_CHECK_OK("capget", get_caps(&c));
	S_EQ("root opens another user's 0600 file", can_open(secret, O_RDONLY), 0);
	S_CHECK_OK("capset dropping the DAC capabilities from the effective set",
		   set_caps(c.eff & ~dac, c.prm, c.inh));
	S_EQ("the file is closed", can_open(secret, O_RDONLY), -EACCES);
	S_CHECK_OK("capset raising them again from the permitted set",
		   set_caps(c.eff, c.prm, c.inh));
	S_EQ("the file opens again", can_open(secret, O_RDONLY), 0);
	S_CHECK_OK("capset dropping them from the permitted set",
		   set_caps(c.eff & ~dac, c.prm & ~dac, c.inh));
	S_CHECK_ERR("they cannot come back", set_caps(c.eff, c.prm, c.inh), EPERM);
	S_CHECK_ERR("an effective set beyond the permitted one gives EPERM",
		    set_caps(c.eff, c.prm & ~dac, c.inh), EPERM);
	S_CHECK_OK("capget after", get_caps(&c));
	S_TRUE("reads the smaller sets", !(c.prm & dac) && !(c.eff & dac));
	S_CHECK_OK("chown the secret back", chown(secret, 0, 0));
}

static void bounding_scenario(void *arg)
{
	(void)arg;
	S_CHECK("PR_CAPBSET_READ(CAP_NET_RAW) is 1",
		prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0), 1, 0);
	S_CHECK_OK("PR_CAPBSET_DROP(CAP_NET_RAW)",
		   prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0));
	S_CHECK("PR_CAPBSET_READ(CAP_NET_RAW) is then 0",
		prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0), 0, 0);
	S_CHECK("other capabilities stay",
		prctl(PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0), 1, 0);
	S_CHECK_ERR("PR_CAPBSET_DROP of capability 99 gives EINVAL",
		    prctl(PR_CAPBSET_DROP, 99, 0, 0, 0), EINVAL);
	S_CHECK_ERR("PR_CAPBSET_READ of capability 99 gives EINVAL",
		    prctl(PR_CAPBSET_READ, 99, 0, 0, 0), EINVAL);
}

static int nnp_child(void *arg)
{
	(void)arg;
	return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 7 : 1;
}

static void nnp_scenario(void *arg)
{
	(void)arg;
	S_CHECK("PR_GET_NO_NEW_PRIVS is 0", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0, 0);
	S_CHECK_ERR("PR_SET_NO_NEW_PRIVS(0) gives EINVAL",
		    prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0), EINVAL);
	S_CHECK_OK("PR_SET_NO_NEW_PRIVS(1)", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	S_CHECK("PR_GET_NO_NEW_PRIVS is then 1",
		prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1, 0);
	S_STATUS("a forked child inherits it", run_child(nnp_child, NULL, 2000),
		 EXITED(7));
}

static void keepcaps_scenario(void *arg)
{
	struct caps c;

	(void)arg;
	S_CHECK("PR_GET_KEEPCAPS is 0", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0), 0, 0);
	S_CHECK_ERR("PR_SET_KEEPCAPS(2) gives EINVAL",
		    prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0), EINVAL);
	S_CHECK_OK("PR_SET_KEEPCAPS(1)", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
	S_CHECK("PR_GET_KEEPCAPS is 1", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0), 1, 0);
	S_CHECK_OK("setresuid to 1000 everywhere", setresuid(1000, 1000, 1000));
	get_caps(&c);
	S_TRUE("keeps the permitted set but not the effective one",
	       c.eff == 0 && (c.prm & BIT(CAP_SETUID)));
	S_CHECK_OK("capset may raise a kept capability", set_caps(BIT(CAP_SETUID), c.prm, 0));
	S_CHECK_OK("which allows setuid(5)", setuid(5));
}

static void ambient_scenario(void *arg)
{
	struct caps c;

	(void)arg;
	S_CHECK("PR_CAP_AMBIENT_IS_SET(CAP_CHOWN) is 0",
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0), 0, 0);
	S_CHECK_ERR("raising a capability that is not inheritable gives EPERM",
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0), EPERM);
	get_caps(&c);
	S_CHECK_OK("capset making CAP_CHOWN inheritable",
		   set_caps(c.eff, c.prm, c.inh | BIT(CAP_CHOWN)));
	S_CHECK_OK("PR_CAP_AMBIENT_RAISE(CAP_CHOWN)",
		   prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0));
	S_CHECK("IS_SET is then 1",
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0), 1, 0);
	S_CHECK_OK("PR_CAP_AMBIENT_LOWER",
		   prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_CHOWN, 0, 0));
	S_CHECK("IS_SET is 0 again",
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0), 0, 0);
	S_CHECK_OK("PR_CAP_AMBIENT_CLEAR_ALL",
		   prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
	S_CHECK_ERR("IS_SET of capability 99 gives EINVAL",
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 99, 0, 0), EINVAL);
}

static void groups_scenario(void *arg)
{
	gid_t set[2] = { 30, 10 }, got[4] = { 0 };
	gid_t rg = 1, eg = 1, sg = 1;

	(void)arg;
	S_CHECK_OK("setgroups(2, {30, 10})", setgroups(2, set));
	S_CHECK("getgroups(0) counts 2", syscall(SYS_getgroups, 0, NULL), 2, 0);
	S_CHECK("getgroups reads 2", syscall(SYS_getgroups, 4, got), 2, 0);
	S_TRUE("in sorted order", got[0] == 10 && got[1] == 30);
	S_CHECK_ERR("getgroups(1) is too small: EINVAL",
		    syscall(SYS_getgroups, 1, got), EINVAL);
	S_CHECK_ERR("setgroups over NGROUPS_MAX gives EINVAL",
		    syscall(SYS_setgroups, 65537, NULL), EINVAL);
	S_CHECK_OK("setresgid(5, 6, 7) as root", setresgid(5, 6, 7));
	getresgid(&rg, &eg, &sg);
	S_TRUE("getresgid reads 5, 6, 7", rg == 5 && eg == 6 && sg == 7);
	S_CHECK_OK("setregid(6, 5)", setregid(6, 5));
	getresgid(&rg, &eg, &sg);
	S_TRUE("setregid with a real gid sets the saved gid to the new egid",
	       rg == 6 && eg == 5 && sg == 5);
	S_CHECK("setfsgid(9) as root returns the egid", syscall(SYS_setfsgid, 9), 5, 0);
}

static void version_points(void)
{
	struct __user_cap_header_struct h = { 0, 0 };
	struct __user_cap_data_struct d[2];
	struct caps c;

	CHECK("capget with version 0 and no data is a version probe",
	      syscall(SYS_capget, &h, NULL), 0, 0);
	CHECK_EQ("which writes the preferred version", h.version,
		 _LINUX_CAPABILITY_VERSION_3);
	h.version = 0x12345678;
	CHECK_ERR("capget with a bad version and data gives EINVAL",
		  syscall(SYS_capget, &h, d), EINVAL);
	CHECK_EQ("and writes the preferred version too", h.version,
		 _LINUX_CAPABILITY_VERSION_3);
	CHECK_OK("capget of version 3", get_caps(&c));
	CHECK_TRUE("root's effective set is its permitted set, with CAP_SETUID",
		   c.eff == c.prm && (c.eff & BIT(CAP_SETUID)));
	h.version = _LINUX_CAPABILITY_VERSION_3;
	h.pid = -1;
	CHECK_ERR("capget of pid -1 gives EINVAL", syscall(SYS_capget, &h, d), EINVAL);
}

#define N_POINTS (7 + 14 + 18 + 5 + 13 + 6 + 5 + 8 + 9 + 11)

int main(void)
{
	int fd, i;

	plan(N_POINTS);
	if (geteuid() != 0) {
		for (i = 0; i < N_POINTS; i++)
			skip("identity changes", "needs root");
		return done();
	}
	version_points();
	strcpy(dir, "/dev/shm/identity-XXXXXX");
	need(mkdtemp(dir) != NULL, "a directory in /dev/shm");
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	need(chmod(dir, 0755) == 0, "chmod of the directory");
	fd = open(secret, O_WRONLY | O_CREAT | O_EXCL, 0600);
	need(fd >= 0, "a 0600 file");
	close(fd);
	scenario("setresuid round trips", 14, resuid_scenario, NULL);
	scenario("a permanent drop to 65534", 18, drop_scenario, NULL);
	scenario("setfsuid", 5, fsuid_scenario, NULL);
	scenario("capset", 13, capset_scenario, NULL);
	scenario("the bounding set", 6, bounding_scenario, NULL);
	scenario("no_new_privs", 5, nnp_scenario, NULL);
	scenario("keepcaps", 8, keepcaps_scenario, NULL);
	scenario("ambient capabilities", 9, ambient_scenario, NULL);
	scenario("groups", 11, groups_scenario, NULL);
	unlink(secret);
	rmdir(dir);
	return done();
}
