/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hookloop: time one socket operation in a loop, for the hook benchmark
 * (bench/hook/run.sh). Prints "ns_per_op=<n>" (CLOCK_MONOTONIC over the
 * whole loop divided by N). Errors of the operation itself are ignored: the
 * LSM hook runs before the protocol code either way.
 *
 * Usage: hookloop MODE N
 *   send-conn  send(2) on a UDP socket connected to 127.0.0.1:<rx> (no
 *              destination in the call: the fast path of socket_sendmsg)
 *   sendto     sendto(2) 127.0.0.1:<rx> on an unconnected UDP socket (a
 *              destination: socket_sendmsg looks it up)
 *   connect    socket(2) + TCP connect(2) to 127.0.0.1:9 (closed) + close
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct sockaddr_in rx = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in closed = rx;
	socklen_t len = sizeof(rx);
	int rfd, fd, n, big = 1 << 20;
	char b = 'x';
	double t0, t1;

	if (argc != 3 || (n = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: hookloop send-conn|sendto|connect N\n");
		return 2;
	}
	/* a receiver, so that sends are not answered with ICMP unreachable */
	rfd = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(rfd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (rfd < 0 || bind(rfd, (struct sockaddr *)&rx, sizeof(rx)) < 0 ||
	    getsockname(rfd, (struct sockaddr *)&rx, &len) < 0) {
		perror("hookloop: receiver");
		return 2;
	}
	closed.sin_port = htons(9);
	if (!strcmp(argv[1], "send-conn") || !strcmp(argv[1], "sendto")) {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0 || (!strcmp(argv[1], "send-conn") && connect(fd, (struct sockaddr *)&rx, sizeof(rx)) < 0)) {
			perror("hookloop: sender");
			return 2;
		}
		t0 = now_ns();
		if (!strcmp(argv[1], "send-conn"))
			for (int i = 0; i < n; i++)
				send(fd, &b, 1, MSG_DONTWAIT);
		else
			for (int i = 0; i < n; i++)
				sendto(fd, &b, 1, MSG_DONTWAIT, (struct sockaddr *)&rx, sizeof(rx));
		t1 = now_ns();
	} else if (!strcmp(argv[1], "connect")) {
		t0 = now_ns();
		for (int i = 0; i < n; i++) {
			fd = socket(AF_INET, SOCK_STREAM, 0);
			connect(fd, (struct sockaddr *)&closed, sizeof(closed));
			close(fd);
		}
		t1 = now_ns();
	} else {
		fprintf(stderr, "hookloop: unknown mode '%s'\n", argv[1]);
		return 2;
	}
	printf("ns_per_op=%.0f\n", (t1 - t0) / n);
	return 0;
}
