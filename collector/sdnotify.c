/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sd_notify(3) without libsystemd. systemd's notification protocol is one
 * datagram of "VAR=value" lines sent to the AF_UNIX socket named by
 * $NOTIFY_SOCKET: a filesystem path, or an abstract name when it starts with
 * '@' (the '@' stands for the leading NUL). A Type=notify unit is "started"
 * when READY=1 arrives; without $NOTIFY_SOCKET (not under systemd, or another
 * Type=) there is nothing to do. The socket is opened per message: the
 * collector sends one READY=1 per run.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "collector.h"

int dl_sd_notify(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd, err = 0;

	if (!name || !*name)
		return 0;
	len = strlen(name);
	if ((name[0] != '/' && name[0] != '@') || len >= sizeof(sa.sun_path)) {
		errno = EINVAL;
		return -EINVAL;
	}
	memcpy(sa.sun_path, name, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   offsetof(struct sockaddr_un, sun_path) + len) < 0)
		err = -errno;
	close(fd);
	errno = -err;
	return err ? err : 1;
}
