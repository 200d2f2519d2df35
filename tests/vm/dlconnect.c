/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dlconnect: a tiny socket client for the VM integration tests.
 *
 * Usage: dlconnect [-b] [-n COUNT] [-u] ADDR PORT
 *   Opens a TCP socket (UDP with -u) COUNT times (default 1) and connects it
 *   to ADDR:PORT (binds it with -b), closing it each time. ADDR is IPv4 or
 *   IPv6.
 * Output: "ok" when every attempt succeeded, else "errno=<NAME>" of the first
 * failure (e.g. errno=ECONNREFUSED: nothing listens, but the LSM hook let
 * the call through), and "eperm=<N>/<COUNT>" when some were refused.
 * Exit: 0 every attempt got past the LSM hooks (no EPERM); 1 at least one
 * attempt failed with EPERM; 2 usage error or socket() failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void usage(FILE *f, const char *argv0)
{
	fprintf(f, "usage: %s [-b] [-n COUNT] [-u] ADDR PORT\n"
		   "  -b  bind instead of connect   -u  UDP instead of TCP\n"
		   "  -n  number of attempts (default 1)\n"
		   "exit: 0 no attempt got EPERM, 1 some got EPERM, 2 usage/socket error\n",
		argv0);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sslen;
	int bind_mode = 0, type = SOCK_STREAM, opt, first_errno = 0;
	long count = 1, eperm = 0;
	char *end;

	while ((opt = getopt(argc, argv, "bn:uh")) != -1) {
		switch (opt) {
		case 'b': bind_mode = 1; break;
		case 'u': type = SOCK_DGRAM; break;
		case 'n':
			errno = 0;
			count = strtol(optarg, &end, 10);
			if (errno || *end || count < 1) {
				fprintf(stderr, "dlconnect: bad count '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout, argv[0]); return 0;
		default: usage(stderr, argv[0]); return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr, argv[0]);
		return 2;
	}

	unsigned long port = strtoul(argv[optind + 1], &end, 10);
	if (*end || port > 65535) {
		fprintf(stderr, "dlconnect: bad port '%s'\n", argv[optind + 1]);
		return 2;
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, argv[optind], &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, argv[optind], &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sslen = sizeof(*sin6);
	} else {
		fprintf(stderr, "dlconnect: bad address '%s'\n", argv[optind]);
		return 2;
	}

	for (long i = 0; i < count; i++) {
		int fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0), r;

		if (fd < 0) {
			fprintf(stderr, "dlconnect: socket: %s\n", strerror(errno));
			return 2;
		}
		if (bind_mode) {
			int one = 1;
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			r = bind(fd, (struct sockaddr *)&ss, sslen);
		} else {
			r = connect(fd, (struct sockaddr *)&ss, sslen);
		}
		if (r < 0) {
			if (!first_errno)
				first_errno = errno;
			if (errno == EPERM)
				eperm++;
		}
		close(fd);
	}

	if (first_errno)
		printf("errno=%s\n", strerrorname_np(first_errno) ?: "?");
	else
		printf("ok\n");
	if (eperm)
		printf("eperm=%ld/%ld\n", eperm, count);
	return eperm ? 1 : 0;
}
