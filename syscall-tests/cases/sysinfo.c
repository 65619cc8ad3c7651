/* sysinfo(2): plausible memory and process counts, EFAULT. */
#include "tap.h"

#include <sys/sysinfo.h>

int main(void)
{
	struct sysinfo si;

	plan(6);

	memset(&si, 0, sizeof(si));
	CHECK("sysinfo succeeds", sysinfo(&si), 0, 0);
	CHECK_TRUE("totalram is positive", si.totalram > 0);
	CHECK_TRUE("freeram <= totalram", si.freeram <= si.totalram);
	CHECK_TRUE("mem_unit is at least 1", si.mem_unit >= 1);
	CHECK_TRUE("at least one process runs", si.procs >= 1);
	CHECK_ERR("a bad pointer gives EFAULT", syscall(SYS_sysinfo, BAD_PTR),
		  EFAULT);
	return done();
}
