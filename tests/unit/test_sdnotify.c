/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dl_sd_notify() against a real AF_UNIX datagram socket standing in for
 * systemd's notification socket: a path in a temporary directory and an
 * abstract name ('@' in NOTIFY_SOCKET), the message as systemd would read it,
 * and the cases where nothing may be sent.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "tap.h"
#include "collector/collector.h"

/* A datagram socket bound to name (abstract when it starts with '@'). */
static int listener(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = 0;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, offsetof(struct sockaddr_un, sun_path) + len) < 0) {
		perror("listener");
		exit(EXIT_FAILURE);
	}
	return fd;
}

/* The next datagram, or "" if none is waiting. */
static const char *received(int fd)
{
	static char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = 0;
	return buf;
}

int main(void)
{
	char dir[256], path[300], abstract[64], longname[200];
	int fd, r;

	if (tap_tmpdir(dir, sizeof(dir), "sdnotify"))
		return EXIT_FAILURE;

	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = listener(path);
	setenv("NOTIFY_SOCKET", path, 1);
	r = dl_sd_notify("READY=1");
	TAP_OK(r == 1, "a path socket: sent (got %d)", r);
	TAP_OK(!strcmp(received(fd), "READY=1"), "systemd reads READY=1 on it");
	close(fd);

	snprintf(abstract, sizeof(abstract), "@drylock-test-sdnotify-%d", (int)getpid());
	fd = listener(abstract);
	setenv("NOTIFY_SOCKET", abstract, 1);
	r = dl_sd_notify("READY=1");
	TAP_OK(r == 1, "an abstract socket ('@'): sent (got %d)", r);
	TAP_OK(!strcmp(received(fd), "READY=1"), "READY=1 arrives on the abstract name");
	close(fd);

	unsetenv("NOTIFY_SOCKET");
	TAP_OK(dl_sd_notify("READY=1") == 0, "no NOTIFY_SOCKET (not under systemd): nothing to do, 0");
	setenv("NOTIFY_SOCKET", "", 1);
	TAP_OK(dl_sd_notify("READY=1") == 0, "an empty NOTIFY_SOCKET: 0");

	setenv("NOTIFY_SOCKET", "relative/notify", 1);
	r = dl_sd_notify("READY=1");
	TAP_OK(r == -EINVAL && errno == EINVAL, "a relative path: -EINVAL (got %d)", r);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = 0;
	setenv("NOTIFY_SOCKET", longname, 1);
	r = dl_sd_notify("READY=1");
	TAP_OK(r == -EINVAL, "a name longer than sun_path: -EINVAL (got %d)", r);

	snprintf(path, sizeof(path), "%s/nobody-listens", dir);
	setenv("NOTIFY_SOCKET", path, 1);
	r = dl_sd_notify("READY=1");
	TAP_OK(r == -ENOENT && errno == ENOENT, "no socket at the path: -ENOENT, errno set (got %d)", r);

	tap_tmpdir_remove(dir);
	return tap_done();
}
