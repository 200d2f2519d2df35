/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "net" in audit records: daddr=/dport= for operations that reach a
 * destination, laddr=/lport= for binds, and proto= as the IANA number
 * (ausearch -i shows it as tcp, udp, ...; a name here would be misread as
 * protocol 0, "ip"). The dedup key is address, port and protocol.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "addr.h"
#include "audit-family.h"
#include "names.h"

/* outlen >= INET6_ADDRSTRLEN + 1. auparse drops one trailing ':' from any
 * value, so an IPv6 text ending in "::" gets a final 0 ("::0", the same
 * address): ausearch then reads laddr=:: as ::0, not as ":".
 * Returns true for an IPv6 address (not IPv4-mapped). */
static bool format_ip(char *out, size_t outlen, const __u8 a[DL_ADDR_LEN])
{
	size_t n;

	if (!dl_addr_format(out, outlen, a))
		return false;
	n = strlen(out);
	if (n && out[n - 1] == ':' && n + 1 < outlen) {
		out[n] = '0';
		out[n + 1] = '\0';
	}
	return true;
}

/* The policy's operation for the hook. */
static const char *net_perm(const struct dl_record *r)
{
	return dl_hook_op(r->hook) == DL_NET_OP_BIND ? "bind" : "connect";
}

/* a.b.c.d:port or [v6]:port */
static int net_tcontext(char *out, size_t outlen, const struct dl_record *r)
{
	char ip[INET6_ADDRSTRLEN + 1];
	bool v6 = format_ip(ip, sizeof(ip), r->u.net.addr);
	int len = snprintf(out, outlen, v6 ? "[%s]:%u" : "%s:%u", ip, r->u.net.port);

	return len < 0 || (size_t)len >= outlen ? -ENOSPC : len;
}

static int net_fields(char *out, size_t outlen, const struct dl_record *r)
{
	const struct dl_net_payload *n = &r->u.net;
	const char *pfx = dl_hook_op(r->hook) == DL_NET_OP_BIND ? "l" : "d";
	char ip[INET6_ADDRSTRLEN + 1];
	int len;

	format_ip(ip, sizeof(ip), n->addr);
	len = snprintf(out, outlen, " %saddr=%s %sport=%u proto=%u", pfx, ip, pfx, n->port, n->protocol);
	return len < 0 || (size_t)len >= outlen ? -ENOSPC : len;
}

static size_t net_dedup_key(const struct dl_record *r, __u8 key[DL_PAYLOAD_LEN])
{
	const struct dl_net_payload *n = &r->u.net;

	memcpy(key, n->addr, sizeof(n->addr));
	memcpy(key + sizeof(n->addr), &n->port, sizeof(n->port));
	key[sizeof(n->addr) + sizeof(n->port)] = n->protocol;
	return sizeof(n->addr) + sizeof(n->port) + 1;
}

const struct dl_audit_family dl_audit_family_net = {
	.perm = net_perm,
	.tcontext = net_tcontext,
	.fields = net_fields,
	.dedup_key = net_dedup_key,
};
