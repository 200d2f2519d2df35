/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hookloop: time one socket operation in a loop, for the hook benchmark
 * (bench/hook/run.sh). The loop runs in blocks of B operations (N/40
 * rounded up, at least 10), each timed with CLOCK_MONOTONIC. Prints
 * "ns_per_op=<n>", the median over the blocks of a block's ns per
 * operation, and
 * "mean_ns_per_op=<n>" (the whole loop divided by N). The median is the
 * figure: a neighbour that takes the shared host's CPU for a moment slows
 * a few blocks, which the median leaves out and the mean does not (on this
 * machine single rounds of a loop were 4x to 50x slower than the others).
 * Errors of the operation itself are ignored: the LSM hook runs before the
 * protocol code either way.
 *
 * Usage: hookloop MODE N
 *   send-conn  send(2) on a UDP socket connected to 127.0.0.1:<rx> (no
 *              destination in the call: the fast path of socket_sendmsg)
 *   sendto     sendto(2) 127.0.0.1:<rx> on an unconnected UDP socket (a
 *              destination: socket_sendmsg looks it up)
 *   connect    socket(2) + TCP connect(2) to 127.0.0.1:9 (closed) + close
 *   udp-connect  connect(2) of one UDP socket to 127.0.0.1:<rx>, again and
 *              again: the socket_connect hook with the least work around it
 *              (a route lookup; no socket made or freed, no TCP exchange),
 *              so the least noise between rounds
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

#define BLOCKS 40

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

enum mode { SEND_CONN, SENDTO, CONNECT, UDP_CONNECT };

int main(int argc, char **argv)
{
	struct sockaddr_in rx = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in closed = rx;
	socklen_t len = sizeof(rx);
	int rfd, fd = -1, n, blk, nblk, done = 0, big = 1 << 20;
	double per[BLOCKS + 1], t0, t1, total = 0;
	enum mode mode;
	char b = 'x';

	if (argc != 3 || (n = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: hookloop send-conn|sendto|connect|udp-connect N\n");
		return 2;
	}
	if (!strcmp(argv[1], "send-conn"))
		mode = SEND_CONN;
	else if (!strcmp(argv[1], "sendto"))
		mode = SENDTO;
	else if (!strcmp(argv[1], "connect"))
		mode = CONNECT;
	else if (!strcmp(argv[1], "udp-connect"))
		mode = UDP_CONNECT;
	else {
		fprintf(stderr, "hookloop: unknown mode '%s'\n", argv[1]);
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
	if (mode != CONNECT) {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0 || (mode == SEND_CONN && connect(fd, (struct sockaddr *)&rx, sizeof(rx)) < 0)) {
			perror("hookloop: sender");
			return 2;
		}
	}
	/* rounded up, so that at most BLOCKS blocks do all N operations */
	blk = (n + BLOCKS - 1) / BLOCKS > 10 ? (n + BLOCKS - 1) / BLOCKS : 10;
	nblk = 0;
	for (; done < n && nblk <= BLOCKS; nblk++) {
		int k = n - done < blk ? n - done : blk;

		t0 = now_ns();
		switch (mode) {
		case SEND_CONN:
			for (int i = 0; i < k; i++)
				send(fd, &b, 1, MSG_DONTWAIT);
			break;
		case SENDTO:
			for (int i = 0; i < k; i++)
				sendto(fd, &b, 1, MSG_DONTWAIT, (struct sockaddr *)&rx, sizeof(rx));
			break;
		case UDP_CONNECT:
			for (int i = 0; i < k; i++)
				connect(fd, (struct sockaddr *)&rx, sizeof(rx));
			break;
		case CONNECT:
			for (int i = 0; i < k; i++) {
				int c = socket(AF_INET, SOCK_STREAM, 0);

				connect(c, (struct sockaddr *)&closed, sizeof(closed));
				close(c);
			}
			break;
		}
		t1 = now_ns();
		total += t1 - t0;
		per[nblk] = (t1 - t0) / k;
		done += k;
	}
	qsort(per, nblk, sizeof(per[0]), cmp_double);
	printf("ns_per_op=%.0f\n", nblk % 2 ? per[nblk / 2] : (per[nblk / 2 - 1] + per[nblk / 2]) / 2);
	printf("mean_ns_per_op=%.0f\n", total / done);
	return 0;
}
