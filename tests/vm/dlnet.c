/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dlnet: every way a process can reach a destination or claim a local
 * address, one per mode, for the VM tests of the net family's bypasses.
 *
 * Usage: dlnet MODE ADDR PORT
 *   connect        TCP connect(2)
 *   connect6-24    TCP connect(2), sockaddr_in6 of 24 bytes (RFC 2133)
 *   bind6-24       TCP bind(2), sockaddr_in6 of 24 bytes
 *   bind-unspec    TCP bind(2) on an AF_INET socket, family AF_UNSPEC
 *   sendto         UDP sendto(2) on an unconnected socket
 *   sendto-unspec  UDP sendto(2), AF_INET socket, family AF_UNSPEC
 *   sendto-conn    UDP socket connected to 127.0.0.1:9, sendto(2) ADDR
 *   send-conn      UDP connect(2) to ADDR, then send(2) (no destination)
 *   sendmsg        UDP sendmsg(2) with msg_name
 *   sendmmsg       UDP sendmmsg(2), two messages with msg_name
 *   tfo            TCP sendto(2) with MSG_FASTOPEN (no connect)
 *   uring-connect  io_uring IORING_OP_CONNECT
 *   uring-sendmsg  io_uring IORING_OP_SENDMSG, UDP, with msg_name
 *   sctp-connectx  SCTP setsockopt SCTP_SOCKOPT_CONNECTX
 *   sctp-bindx     SCTP setsockopt SCTP_SOCKOPT_BINDX_ADD
 *   sctp-sendmsg   SCTP one-to-many sendmsg(2) to a new peer
 * ADDR is IPv4 or IPv6 (the socket's family follows it).
 * Output: "ok", or "errno=<NAME>" of the call that decides.
 * Exit: 0 not refused by an LSM, 1 EPERM, 2 usage or setup error,
 *       3 the kernel lacks the mechanism (EPROTONOSUPPORT, ENOSYS...).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif
#define SOL_SCTP_ 132
#define SCTP_SOCKOPT_BINDX_ADD_ 100
#define SCTP_SOCKOPT_CONNECTX_ 110

static struct sockaddr_storage ss;
static socklen_t sslen;

static int fail(const char *what)
{
	fprintf(stderr, "dlnet: %s: %s\n", what, strerror(errno));
	return 2;
}

static int result(int r, int err)
{
	if (r >= 0) {
		printf("ok\n");
		return 0;
	}
	printf("errno=%s\n", strerrorname_np(err) ?: "?");
	if (err == EPERM)
		return 1;
	if (err == EPROTONOSUPPORT || err == ENOSYS || err == ESOCKTNOSUPPORT || err == EAFNOSUPPORT ||
	    err == EOPNOTSUPP)
		return 3;
	return 0;
}

static int sock(int type, int proto)
{
	return socket(ss.ss_family, type | SOCK_CLOEXEC, proto);
}

/* A minimal io_uring: one submission, wait for its completion. */
static int uring_one(const struct io_uring_sqe *in)
{
	struct io_uring_params p = { 0 };
	int fd = syscall(__NR_io_uring_setup, 4, &p);
	uint8_t *sq, *cq;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqe;
	unsigned *tail, *array, idx;
	size_t sqlen, cqlen;
	int r;

	if (fd < 0)
		return -errno;
	sqlen = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cqlen = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	sq = mmap(NULL, sqlen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, IORING_OFF_SQ_RING);
	cq = mmap(NULL, cqlen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, IORING_OFF_CQ_RING);
	sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		return -errno;
	tail = (unsigned *)(sq + p.sq_off.tail);
	array = (unsigned *)(sq + p.sq_off.array);
	idx = *tail & *(unsigned *)(sq + p.sq_off.ring_mask);
	sqes[idx] = *in;
	array[idx] = idx;
	__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
	r = syscall(__NR_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	if (r < 0)
		return -errno;
	cqe = (struct io_uring_cqe *)(cq + p.cq_off.cqes) +
	      (*(unsigned *)(cq + p.cq_off.head) & *(unsigned *)(cq + p.cq_off.ring_mask));
	r = cqe->res;
	close(fd);
	return r;
}

int main(int argc, char **argv)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	const char *mode;
	char *end, buf[1] = { 'x' };
	struct iovec iov = { buf, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	unsigned long port;
	int fd, r, one = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: dlnet MODE ADDR PORT (modes: see the source's header)\n");
		return 2;
	}
	mode = argv[1];
	port = strtoul(argv[3], &end, 10);
	if (*end || port > 65535) {
		fprintf(stderr, "dlnet: bad port '%s'\n", argv[3]);
		return 2;
	}
	if (inet_pton(AF_INET, argv[2], &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, argv[2], &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sslen = sizeof(*sin6);
	} else {
		fprintf(stderr, "dlnet: bad address '%s'\n", argv[2]);
		return 2;
	}
	msg.msg_name = &ss;
	msg.msg_namelen = sslen;

	if (!strcmp(mode, "connect") || !strcmp(mode, "connect6-24")) {
		if ((fd = sock(SOCK_STREAM, 0)) < 0)
			return fail("socket");
		r = connect(fd, (struct sockaddr *)&ss, strcmp(mode, "connect") ? 24 : sslen);
		return result(r, errno);
	}
	if (!strcmp(mode, "bind6-24") || !strcmp(mode, "bind-unspec")) {
		if ((fd = sock(SOCK_STREAM, 0)) < 0)
			return fail("socket");
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!strcmp(mode, "bind-unspec"))
			ss.ss_family = AF_UNSPEC;
		r = bind(fd, (struct sockaddr *)&ss, !strcmp(mode, "bind6-24") ? 24 : sslen);
		return result(r, errno);
	}
	if (!strcmp(mode, "sendto") || !strcmp(mode, "sendto-unspec")) {
		if ((fd = sock(SOCK_DGRAM, 0)) < 0)
			return fail("socket");
		if (!strcmp(mode, "sendto-unspec"))
			ss.ss_family = AF_UNSPEC;
		r = sendto(fd, buf, 1, 0, (struct sockaddr *)&ss, sslen);
		return result(r, errno);
	}
	if (!strcmp(mode, "sendto-conn")) {
		struct sockaddr_in lo = { .sin_family = AF_INET, .sin_port = htons(9),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

		if ((fd = sock(SOCK_DGRAM, 0)) < 0)
			return fail("socket");
		if (ss.ss_family == AF_INET && connect(fd, (struct sockaddr *)&lo, sizeof(lo)) < 0)
			return fail("connect to 127.0.0.1:9");
		r = sendto(fd, buf, 1, 0, (struct sockaddr *)&ss, sslen);
		return result(r, errno);
	}
	if (!strcmp(mode, "send-conn")) {
		if ((fd = sock(SOCK_DGRAM, 0)) < 0)
			return fail("socket");
		r = connect(fd, (struct sockaddr *)&ss, sslen);
		if (r < 0)
			return result(r, errno);
		r = send(fd, buf, 1, 0);
		return result(r, errno);
	}
	if (!strcmp(mode, "sendmsg")) {
		if ((fd = sock(SOCK_DGRAM, 0)) < 0)
			return fail("socket");
		r = sendmsg(fd, &msg, 0);
		return result(r, errno);
	}
	if (!strcmp(mode, "sendmmsg")) {
		struct mmsghdr mm[2] = { { .msg_hdr = msg }, { .msg_hdr = msg } };

		if ((fd = sock(SOCK_DGRAM, 0)) < 0)
			return fail("socket");
		r = sendmmsg(fd, mm, 2, 0);
		if (r >= 0 && r < 2) {
			/* it returns the count sent before the first error */
			printf("sent=%d/2\n", r);
			return 1;
		}
		return result(r, errno);
	}
	if (!strcmp(mode, "tfo")) {
		if ((fd = sock(SOCK_STREAM, 0)) < 0)
			return fail("socket");
		r = sendto(fd, buf, 1, MSG_FASTOPEN, (struct sockaddr *)&ss, sslen);
		return result(r, errno);
	}
	if (!strcmp(mode, "uring-connect") || !strcmp(mode, "uring-sendmsg")) {
		struct io_uring_sqe sqe = { 0 };
		bool conn = !strcmp(mode, "uring-connect");

		if ((fd = sock(conn ? SOCK_STREAM : SOCK_DGRAM, 0)) < 0)
			return fail("socket");
		sqe.opcode = conn ? IORING_OP_CONNECT : IORING_OP_SENDMSG;
		sqe.fd = fd;
		sqe.addr = conn ? (uintptr_t)&ss : (uintptr_t)&msg;
		sqe.off = conn ? sslen : 0;
		r = uring_one(&sqe);
		if (r == -EINVAL || r == -EOPNOTSUPP)
			r = -ENOSYS; /* this kernel's io_uring lacks the opcode */
		return result(r < 0 ? -1 : 0, -r);
	}
	if (!strncmp(mode, "sctp-", 5)) {
		int type = !strcmp(mode, "sctp-sendmsg") ? SOCK_SEQPACKET : SOCK_STREAM;

		if ((fd = sock(type, IPPROTO_SCTP)) < 0)
			return result(-1, errno);
		if (!strcmp(mode, "sctp-connectx")) {
			r = setsockopt(fd, SOL_SCTP_, SCTP_SOCKOPT_CONNECTX_, &ss, sslen);
		} else if (!strcmp(mode, "sctp-bindx")) {
			r = setsockopt(fd, SOL_SCTP_, SCTP_SOCKOPT_BINDX_ADD_, &ss, sslen);
		} else if (!strcmp(mode, "sctp-sendmsg")) {
			r = sendmsg(fd, &msg, MSG_DONTWAIT);
		} else {
			fprintf(stderr, "dlnet: unknown mode '%s'\n", mode);
			return 2;
		}
		return result(r, errno);
	}
	fprintf(stderr, "dlnet: unknown mode '%s'\n", mode);
	return 2;
}
