/* sysfs CPU files: /sys/devices/system/cpu/{online,possible,present} in
 * Linux's list format, a cpuN directory for every online CPU, and counts
 * that agree with what glibc (sysconf), sched_getaffinity, /proc/cpuinfo
 * and /proc/stat report. No fixed numbers: the host's CPU count differs
 * from machine to machine.
 *
 * Reads /sys and /proc on purpose (tap.h's "no /proc or /sys" rule does
 * not apply: they are what is tested). */
#include "tap.h"

#include <ctype.h>
#include <sched.h>
#include <sys/statfs.h>

#define SYSFS_MAGIC 0x62656572
#define MAX_CPUS 8192
#define CPU_DIR "/sys/devices/system/cpu"

static unsigned char online[MAX_CPUS];

/* Parses a CPU list ("0", "0-3", "0-3,8-11\n") into set (may be NULL);
 * returns how many CPUs it names, or -1 when it is malformed. */
static long parse_list(const char *s, unsigned char *set)
{
	long count = 0, lo, hi, i;
	char *end;

	for (;;) {
		if (!isdigit((unsigned char)*s))
			return -1;
		lo = strtol(s, &end, 10);
		hi = lo;
		s = end;
		if (*s == '-') {
			hi = strtol(s + 1, &end, 10);
			if (end == s + 1)
				return -1;
			s = end;
		}
		if (lo < 0 || hi < lo || hi >= MAX_CPUS)
			return -1;
		for (i = lo; i <= hi; i++)
			if (set)
				set[i] = 1;
		count += hi - lo + 1;
		if (*s == ',') {
			s++;
			continue;
		}
		return strcmp(s, "\n") == 0 ? count : -1;
	}
}

/* Lines of path that start with prefix followed by a digit. */
static long count_lines(const char *path, const char *prefix)
{
	char line[4096];
	size_t plen = strlen(prefix);
	long n = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, prefix, plen) == 0 &&
		    isdigit((unsigned char)line[plen]))
			n++;
	fclose(f);
	return n;
}

static long count_processor_lines(void)
{
	char line[4096];
	long n = 0;
	FILE *f = fopen("/proc/cpuinfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "processor", 9) == 0 &&
		    (line[9] == '\t' || line[9] == ' '))
			n++;
	fclose(f);
	return n;
}

int main(void)
{
	char buf[4096], path[128];
	long n_online, n_possible, n_present, n;
	int i, all_dirs = 1, subset = 1, naff;
	struct statfs sfs;
	struct stat st;
	cpu_set_t aff;

	plan(14);
	CHECK_OK("statfs of /sys", statfs("/sys", &sfs));
	CHECK_EQ("/sys is a sysfs", sfs.f_type, SYSFS_MAGIC);
	CHECK_OK("stat of " CPU_DIR, stat(CPU_DIR, &st));
	CHECK_TRUE(CPU_DIR " is a directory", S_ISDIR(st.st_mode));

	n = slurp(CPU_DIR "/online", buf, sizeof(buf));
	n_online = n > 0 ? parse_list(buf, online) : -1;
	okf(n_online > 0, "online is a CPU list", "read %ld: %s", n,
	    n > 0 ? buf : tap_errname(errno));
	n = slurp(CPU_DIR "/possible", buf, sizeof(buf));
	n_possible = n > 0 ? parse_list(buf, NULL) : -1;
	okf(n_possible >= n_online && n_online > 0,
	    "possible is a CPU list naming at least the online ones",
	    "%ld possible, %ld online", n_possible, n_online);
	n = slurp(CPU_DIR "/present", buf, sizeof(buf));
	n_present = n > 0 ? parse_list(buf, NULL) : -1;
	okf(n_present >= n_online && n_online > 0,
	    "present is a CPU list naming at least the online ones",
	    "%ld present, %ld online", n_present, n_online);

	for (i = 0; i < MAX_CPUS; i++) {
		if (!online[i])
			continue;
		snprintf(path, sizeof(path), CPU_DIR "/cpu%d", i);
		if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))
			all_dirs = 0;
	}
	ok(n_online > 0 && all_dirs, "every online CPU has a cpuN directory");

	CHECK_EQ("sysconf(_SC_NPROCESSORS_ONLN) is the online count",
		 sysconf(_SC_NPROCESSORS_ONLN), n_online);
	okf(sysconf(_SC_NPROCESSORS_CONF) >= n_online,
	    "sysconf(_SC_NPROCESSORS_CONF) is at least the online count",
	    "%ld configured, %ld online", sysconf(_SC_NPROCESSORS_CONF),
	    n_online);

	CPU_ZERO(&aff);
	CHECK_OK("sched_getaffinity", sched_getaffinity(0, sizeof(aff), &aff));
	naff = CPU_COUNT(&aff);
	for (i = 0; i < CPU_SETSIZE && i < MAX_CPUS; i++)
		if (CPU_ISSET(i, &aff) && !online[i])
			subset = 0;
	okf(naff >= 1 && naff <= n_online && subset,
	    "the affinity mask is a non-empty subset of the online CPUs",
	    "%d in the mask, %ld online, subset %d", naff, n_online, subset);

	CHECK_EQ("/proc/cpuinfo lists every online CPU",
		 count_processor_lines(), n_online);
	CHECK_EQ("/proc/stat has a line per online CPU",
		 count_lines("/proc/stat", "cpu"), n_online);
	return done();
}
