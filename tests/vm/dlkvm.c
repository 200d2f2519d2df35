// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * dlkvm: one KVM_CREATE_VM, for tests/vm/guest/kvm.sh.
 *   dlkvm DEVICE [hold|wait]
 * Opens DEVICE (normally /dev/kvm) and issues KVM_CREATE_VM. Prints
 * "pid=<pid> ok" or "pid=<pid> errno=<NAME>" and exits 0 / 1 (2: usage or
 * open failed). hold: after a successful create, keep the VM (and so the
 * process) until a line or EOF arrives on stdin. wait: print "pid=<pid>
 * ready" and wait for a line on stdin before the ioctl.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case ENOMEM: return "ENOMEM";
	case EBUSY: return "EBUSY";
	default: return "OTHER";
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 2 ? argv[2] : "";
	char line[64];
	int fd, vm;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: dlkvm DEVICE [hold|wait]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "dlkvm: open %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	if (!strcmp(mode, "wait")) {
		printf("pid=%d ready\n", (int)getpid());
		if (!fgets(line, sizeof(line), stdin))
			line[0] = 0;
	}
	vm = ioctl(fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		int e = errno;

		printf("pid=%d errno=%s (%s)\n", (int)getpid(), errname(e), strerror(e));
		return 1;
	}
	printf("pid=%d ok\n", (int)getpid());
	if (!strcmp(mode, "hold") && !fgets(line, sizeof(line), stdin))
		line[0] = 0;
	close(vm);
	close(fd);
	return 0;
}
