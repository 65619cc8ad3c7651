/* /bin/sleep SECONDS for a runc root file system without busybox. */
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	sleep(argc > 1 ? (unsigned)atoi(argv[1]) : 1);
	return 0;
}
