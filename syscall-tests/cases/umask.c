/* umask(2): returns the previous mask and keeps only the permission bits. */
#include "tap.h"

int main(void)
{
	mode_t orig;

	plan(4);

	orig = umask(022);
	CHECK("umask returns the previous mask", umask(077), 022, 0);
	CHECK("a second call returns the mask set by the first", umask(0), 077, 0);
	umask(0xffff);
	CHECK("only the 0777 bits are kept", umask(0), 0777, 0);
	CHECK("restoring returns the last mask", umask(orig), 0, 0);
	return done();
}
