/* /bin/true for a runc root file system without busybox. */
int main(void)
{
	return 0;
}
