/* The vDSO: AT_SYSINFO_EHDR points at an ELF shared object exporting the
 * time functions at version LINUX_2.6, mapped as [vdso] above a read-only
 * [vvar]; its clocks (called directly and through libc) never go backwards
 * and agree with the trapped syscalls; clocks it does not serve (CPU time,
 * bad ids) still work through its syscall fallback; fork and exec keep it.
 * Clock agreement allows 1 ms: the point is one clock, not nanoseconds. */
#include "proc.h"

#include <elf.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/time.h>

#define SLACK_NS 1000000LL

typedef long (*gettime_fn)(clockid_t, struct timespec *);

static long long ns(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static long long sys_ns(clockid_t id)
{
	struct timespec t = { 0, 0 };

	syscall(SYS_clock_gettime, id, &t);
	return ns(&t);
}

/* ---- looking symbols up in the vDSO, as libcs do (DT_HASH + versions) ---- */

struct dso {
	uintptr_t bias;
	const Elf64_Sym *syms;
	const char *strs;
	const Elf32_Word *hash;
	const Elf64_Half *versym;
	const Elf64_Verdef *verdef;
};

static int dso_open(struct dso *d, const Elf64_Ehdr *eh)
{
	const Elf64_Phdr *ph = (const void *)((const char *)eh + eh->e_phoff);
	const Elf64_Dyn *dyn = NULL;
	int i, have_load = 0;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !have_load) {
			d->bias = (uintptr_t)eh + ph[i].p_offset - ph[i].p_vaddr;
			have_load = 1;
		} else if (ph[i].p_type == PT_DYNAMIC) {
			dyn = (const void *)((const char *)eh + ph[i].p_offset);
		}
	}
	if (!have_load || !dyn)
		return -1;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		const void *p = (const void *)(d->bias + dyn->d_un.d_ptr);

		switch (dyn->d_tag) {
		case DT_SYMTAB:
			d->syms = p;
			break;
		case DT_STRTAB:
			d->strs = p;
			break;
		case DT_HASH:
			d->hash = p;
			break;
		case DT_VERSYM:
			d->versym = p;
			break;
		case DT_VERDEF:
			d->verdef = p;
			break;
		}
	}
	return d->syms && d->strs && d->hash && d->versym && d->verdef ? 0 : -1;
}

/* The version index of `name`, or -1. */
static int dso_version(const struct dso *d, const char *name)
{
	const Elf64_Verdef *v = d->verdef;

	for (;;) {
		const Elf64_Verdaux *aux =
			(const void *)((const char *)v + v->vd_aux);

		if (!(v->vd_flags & VER_FLG_BASE) &&
		    strcmp(d->strs + aux->vda_name, name) == 0)
			return v->vd_ndx & 0x7fff;
		if (!v->vd_next)
			return -1;
		v = (const void *)((const char *)v + v->vd_next);
	}
}

/* The address of the function `name` at version `ver`, or NULL. */
static void *dso_sym(const struct dso *d, const char *name, const char *ver)
{
	int want = dso_version(d, ver);
	Elf32_Word i, n = d->hash[1];

	for (i = 1; want >= 0 && i < n; i++) {
		const Elf64_Sym *s = &d->syms[i];

		if (ELF64_ST_TYPE(s->st_info) != STT_FUNC ||
		    s->st_shndx == SHN_UNDEF ||
		    (d->versym[i] & 0x7fff) != want ||
		    strcmp(d->strs + s->st_name, name) != 0)
			continue;
		return (void *)(d->bias + s->st_value);
	}
	return NULL;
}

/* ---- /proc/self/maps ---------------------------------------------------- */

/* Finds the mapping named `name`: its range and permissions. */
static int find_map(const char *name, unsigned long *lo, unsigned long *hi,
		    char perms[5])
{
	char line[512], nm[256];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		nm[0] = 0;
		if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %255s", lo, hi, perms,
			   nm) >= 3 &&
		    strcmp(nm, name) == 0)
			found = 1;
	}
	fclose(f);
	return found;
}

/* ---- fork and exec ------------------------------------------------------ */

static long long parent_mono;

/* In a child: the clock continues from the parent's and agrees with the
 * syscall. */
static int forked_child(void *arg)
{
	struct timespec t;
	long long s1, s2;

	(void)arg;
	s1 = sys_ns(CLOCK_MONOTONIC);
	if (clock_gettime(CLOCK_MONOTONIC, &t) != 0)
		return 1;
	s2 = sys_ns(CLOCK_MONOTONIC);
	if (ns(&t) < parent_mono)
		return 2;
	if (ns(&t) < s1 - SLACK_NS || ns(&t) > s2 + SLACK_NS)
		return 3;
	return 0;
}

/* The program run again by exec: a vDSO is there and its clock works. */
static int exec_mode(void)
{
	struct timespec t;
	long long s1, s2;

	if (getauxval(AT_SYSINFO_EHDR) == 0)
		return 1;
	s1 = sys_ns(CLOCK_REALTIME);
	if (clock_gettime(CLOCK_REALTIME, &t) != 0)
		return 2;
	s2 = sys_ns(CLOCK_REALTIME);
	return ns(&t) >= s1 - SLACK_NS && ns(&t) <= s2 + SLACK_NS ? 0 : 3;
}

static const char *self_path;

static int exec_child(void *arg)
{
	char *const argv[] = { (char *)self_path, "--exec-mode", NULL };

	(void)arg;
	execv(self_path, argv);
	return 100;
}

int main(int argc, char **argv)
{
	static const char *const funcs[] = { "clock_gettime", "gettimeofday",
					     "time", "getcpu", "clock_getres" };
	const Elf64_Ehdr *eh;
	struct dso d;
	gettime_fn vgettime = NULL;
	struct timespec a, b, r1, r2, res, sres;
	struct timeval tv;
	unsigned long vlo = 0, vhi = 0, tlo = 0, thi = 0;
	char vperm[5] = "", tperm[5] = "";
	long long s1, s2, v;
	int i, all, mono_ok = 1, st;
	time_t t1, t2;
	cpu_set_t set, one;
	unsigned cpu = ~0u;

	if (argc > 1 && strcmp(argv[1], "--exec-mode") == 0)
		return exec_mode();
	self_path = argv[0];
	plan(30);

	/* The image. */
	eh = (const void *)getauxval(AT_SYSINFO_EHDR);
	CHECK_TRUE("AT_SYSINFO_EHDR is set", eh != NULL);
	need(eh != NULL, "AT_SYSINFO_EHDR");
	CHECK_TRUE("it points at an x86-64 ELF shared object",
		   memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
			   eh->e_ident[EI_CLASS] == ELFCLASS64 &&
			   eh->e_type == ET_DYN && eh->e_machine == EM_X86_64);
	CHECK_TRUE("its dynamic section has symbols, hash and versions",
		   dso_open(&d, eh) == 0);
	need(d.syms && d.strs && d.hash && d.versym && d.verdef,
	     "the vDSO's dynamic section");
	all = 1;
	for (i = 0; i < 5; i++) {
		char name[64];

		snprintf(name, sizeof(name), "__vdso_%s", funcs[i]);
		all &= dso_sym(&d, name, "LINUX_2.6") != NULL;
		all &= dso_sym(&d, funcs[i], "LINUX_2.6") ==
		       dso_sym(&d, name, "LINUX_2.6");
	}
	CHECK_TRUE("__vdso_clock_gettime, _gettimeofday, _time, _getcpu and _clock_getres are exported at LINUX_2.6 with their plain aliases",
		   all);
	CHECK_TRUE("no symbol is found under another version",
		   dso_sym(&d, "__vdso_clock_gettime", "LINUX_9.9") == NULL);
	vgettime = (gettime_fn)dso_sym(&d, "__vdso_clock_gettime", "LINUX_2.6");
	need(vgettime != NULL, "__vdso_clock_gettime lookup");

	/* The mappings. */
	CHECK_TRUE("[vdso] is mapped read+execute at AT_SYSINFO_EHDR",
		   find_map("[vdso]", &tlo, &thi, tperm) &&
			   tlo == (unsigned long)eh && tperm[0] == 'r' &&
			   tperm[1] == '-' && tperm[2] == 'x');
	CHECK_TRUE("[vvar] is mapped read-only below it",
		   find_map("[vvar]", &vlo, &vhi, vperm) && vhi <= tlo &&
			   strncmp(vperm, "r--", 3) == 0);
	CHECK_ERR("[vvar] cannot be made writable",
		  mprotect((void *)vlo, vhi - vlo, PROT_READ | PROT_WRITE),
		  EACCES);

	/* Calling it directly. */
	s1 = sys_ns(CLOCK_MONOTONIC);
	CHECK("__vdso_clock_gettime(CLOCK_MONOTONIC) returns 0",
	      vgettime(CLOCK_MONOTONIC, &a), 0, 0);
	s2 = sys_ns(CLOCK_MONOTONIC);
	okf(ns(&a) >= s1 - SLACK_NS && ns(&a) <= s2 + SLACK_NS,
	    "and agrees with the syscall around it",
	    "%lld not within [%lld, %lld]", ns(&a), s1, s2);
	CHECK("__vdso_clock_gettime(CLOCK_PROCESS_CPUTIME_ID) falls back and returns 0",
	      vgettime(CLOCK_PROCESS_CPUTIME_ID, &a), 0, 0);
	CHECK("__vdso_clock_gettime of a bad id returns -EINVAL",
	      vgettime((clockid_t)1000, &a), -EINVAL, 0);

	/* Through libc. */
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < 100000; i++) {
		clock_gettime(CLOCK_MONOTONIC, &b);
		mono_ok &= ns(&b) >= ns(&a);
		a = b;
	}
	CHECK_TRUE("CLOCK_MONOTONIC never goes backwards over 100000 calls",
		   mono_ok);
	for (i = 0; i < 4; i++) {
		static const clockid_t ids[] = { CLOCK_MONOTONIC,
						 CLOCK_REALTIME,
						 CLOCK_BOOTTIME, CLOCK_TAI };
		static const char *const descs[] = {
			"CLOCK_MONOTONIC agrees with the raw syscall",
			"CLOCK_REALTIME agrees with the raw syscall",
			"CLOCK_BOOTTIME agrees with the raw syscall",
			"CLOCK_TAI agrees with the raw syscall",
		};

		s1 = sys_ns(ids[i]);
		clock_gettime(ids[i], &a);
		s2 = sys_ns(ids[i]);
		v = ns(&a);
		okf(v >= s1 - SLACK_NS && v <= s2 + SLACK_NS, descs[i],
		    "%lld not within [%lld, %lld]", v, s1, s2);
	}
	clock_gettime(CLOCK_REALTIME, &r1);
	CHECK("gettimeofday succeeds", gettimeofday(&tv, NULL), 0, 0);
	clock_gettime(CLOCK_REALTIME, &r2);
	v = (long long)tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
	okf(tv.tv_usec >= 0 && tv.tv_usec < 1000000 &&
		    v >= ns(&r1) - SLACK_NS && v <= ns(&r2) + SLACK_NS,
	    "it agrees with CLOCK_REALTIME", "%lld not within [%lld, %lld]",
	    v, ns(&r1), ns(&r2));
	clock_gettime(CLOCK_REALTIME, &r1);
	t1 = time(&t2);
	clock_gettime(CLOCK_REALTIME, &r2);
	CHECK_TRUE("time() agrees with CLOCK_REALTIME and stores what it returns",
		   t1 == t2 && t1 >= r1.tv_sec - 1 && t1 <= r2.tv_sec);

	CHECK("clock_getres(CLOCK_MONOTONIC) succeeds",
	      clock_getres(CLOCK_MONOTONIC, &res), 0, 0);
	syscall(SYS_clock_getres, CLOCK_MONOTONIC, &sres);
	CHECK_TRUE("it is positive, at most 10 ms, and the syscall's",
		   res.tv_sec == 0 && res.tv_nsec > 0 &&
			   res.tv_nsec <= 10000000 &&
			   res.tv_nsec == sres.tv_nsec);

	/* Clocks the vDSO leaves to the kernel. */
	CHECK("CLOCK_PROCESS_CPUTIME_ID works through libc",
	      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a), 0, 0);
	CHECK("CLOCK_THREAD_CPUTIME_ID works through libc",
	      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b), 0, 0);
	CHECK_ERR("a bad clock id through libc gives EINVAL",
		  clock_gettime((clockid_t)1000, &a), EINVAL);

	/* getcpu. */
	CPU_ZERO(&set);
	sched_getaffinity(0, sizeof(set), &set);
	CHECK("getcpu succeeds", getcpu(&cpu, NULL), 0, 0);
	CHECK_TRUE("it names a CPU we may run on",
		   cpu < CPU_SETSIZE && CPU_ISSET(cpu, &set));
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	need(sched_setaffinity(0, sizeof(one), &one) == 0,
	     "sched_setaffinity");
	CHECK_EQ("after pinning to it, sched_getcpu names it", sched_getcpu(),
		 (int)cpu);
	sched_setaffinity(0, sizeof(set), &set);

	/* Fork and exec. */
	parent_mono = sys_ns(CLOCK_MONOTONIC);
	st = run_child(forked_child, NULL, 5000);
	CHECK_TRUE("a forked child's clock continues and agrees",
		   st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = run_child(exec_child, NULL, 10000);
	CHECK_TRUE("an exec'd program gets a working vDSO",
		   st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return done();
}
