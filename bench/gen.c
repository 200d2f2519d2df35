/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The benchmark stream. What a permissive-mode run on a busy server looks
 * like, reduced to what costs the collector something:
 *
 *  - subjects: DL_GEN_SERVICES long-running services (nginx, postgres, ...),
 *    each a real live process (the benchmark starts them) so the collector's
 *    exe resolution takes its real path: one /proc/<tgid>/exe readlink per
 *    (tgid, exe inode), then its cache. Each service appears with 4
 *    identities (uid, cgroup, mount namespace vary), picked Zipf-like
 *    (weight 1/rank): a handful of services produce most decisions;
 *  - a long tail of subjects never seen again (short-lived jobs that already
 *    exited: their tgid does not exist, the exe cannot be resolved, the comm
 *    is unique), tail_subject_pm per mille;
 *  - objects: DL_GEN_OBJECTS popular destinations (Zipf), plus a tail of
 *    one-off addresses and ports, tail_object_pm per mille;
 *  - 85 % would-deny, 12 % allow, 3 % deny (enforced); threads (pid != tgid)
 *    in one record of 5; seq 1, 2, 3, ...; ktime grows by 0..400 us per
 *    record (5,000 decisions/s on average, so 10M span ~33 minutes).
 *
 * Deterministic: the same seed gives the same stream, so the benchmarks can
 * feed the same decisions to the store and to the audit log.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>

#include "collector/addr.h"
#include "gen.h"

const char *const dl_gen_service_names[DL_GEN_SERVICES] = {
	"nginx", "postgres", "sshd", "systemd-resolve", "chronyd", "dockerd", "containerd",
	"kubelet", "node", "python3", "java", "redis-server", "memcached", "haproxy", "envoy",
	"prometheus", "grafana", "node_exporter", "fluent-bit", "vector", "rsyslogd", "cron",
	"apt", "http", "curl", "wget", "git", "ssh", "rsync", "gunicorn", "uwsgi", "php-fpm",
	"mysqld", "mongod", "etcd", "coredns", "consul", "vault", "nomad", "telegraf", "influxd",
	"rabbitmq", "beam.smp", "erl", "ruby", "puma", "sidekiq", "celery", "dotnet", "go-app",
	"backup-agent", "snapd", "unattended-upgr", "packagekitd", "polkitd", "dbus-daemon",
	"systemd", "journald", "udevd", "networkd", "timesyncd", "ntpd", "exim4", "postfix",
};

const char dl_gen_policy[] =
	"policy bench\n"
	"net deny r0 addr=169.254.169.254/32 op=connect\n"
	"net deny r1 addr=any port=25 proto=tcp op=connect\n"
	"net deny r2 addr=any port=23 proto=tcp op=connect\n"
	"net deny r3 addr=10.3.0.0/16 op=connect\n"
	"net deny r4 addr=10.4.0.0/16 op=connect\n"
	"net deny r5 addr=10.5.0.0/16 op=connect\n"
	"net deny r6 addr=10.6.0.0/16 op=connect\n"
	"net deny r7 addr=10.7.0.0/16 op=connect\n"
	"net deny r8 addr=10.8.0.0/16 op=connect\n"
	"net deny r9 addr=10.9.0.0/16 op=connect\n"
	"net deny r10 addr=192.0.2.0/24 op=connect\n"
	"net deny r11 addr=198.51.100.0/24 op=connect\n"
	"net deny r12 addr=203.0.113.0/24 op=connect\n"
	"net deny r13 addr=any port=6379 proto=tcp op=connect\n"
	"net allow r14 addr=10.0.0.0/8 port=443 proto=tcp op=connect\n"
	"net deny r15 addr=any op=connect\n";

static uint64_t rnd(struct dl_gen *g)
{
	/* splitmix64: fast, good enough, and deterministic everywhere */
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void zipf_table(uint16_t *t, unsigned n)
{
	double sum = 0, acc = 0;
	for (unsigned k = 1; k <= n; k++)
		sum += 1.0 / k;
	unsigned k = 1;
	acc = 1.0 / sum;
	for (unsigned u = 0; u < 65536; u++) {
		while ((u + 0.5) / 65536.0 > acc && k < n)
			acc += 1.0 / (++k) / sum;
		t[u] = (uint16_t)(k - 1);
	}
}

void dl_gen_init(struct dl_gen *g, uint64_t seed, unsigned tail_subject_pm,
		 unsigned tail_object_pm)
{
	memset(g, 0, sizeof(*g));
	g->rng = seed;
	g->ktime_ns = UINT64_C(1000000000000); /* 1000 s after boot */
	g->tail_subject_pm = tail_subject_pm;
	g->tail_object_pm = tail_object_pm;
	for (unsigned i = 0; i < DL_GEN_SERVICES; i++)
		g->svc[i].name = dl_gen_service_names[i];
	zipf_table(g->zipf_subj, DL_GEN_SUBJECTS);
	zipf_table(g->zipf_obj, DL_GEN_OBJECTS);
}

static void v4(struct dl_record *r, uint32_t a)
{
	memcpy(r->u.net.addr, dl_v4mapped_prefix, sizeof(dl_v4mapped_prefix));
	r->u.net.addr[12] = (uint8_t)(a >> 24);
	r->u.net.addr[13] = (uint8_t)(a >> 16);
	r->u.net.addr[14] = (uint8_t)(a >> 8);
	r->u.net.addr[15] = (uint8_t)a;
	r->u.net.sa_family = 2; /* AF_INET */
}

void dl_gen_next(struct dl_gen *g, struct dl_record *r, struct dl_gen_ids *ids)
{
	uint64_t x = rnd(g), y = rnd(g);
	memset(r, 0, sizeof(*r));
	r->version = DL_ABI_VERSION;
	r->size = sizeof(*r);
	r->family = DL_FAMILY_NET;
	r->hook = (x & 0xff) < 8 ? DL_HOOK_SOCKET_BIND : DL_HOOK_SOCKET_CONNECT;
	r->seq = ++g->seq;
	g->ktime_ns += (x >> 8) % 400000;
	r->ktime_ns = g->ktime_ns;
	r->policy_gen = 1;

	/* Subject. */
	if ((x >> 32) % 1000 < g->tail_subject_pm) {
		uint64_t t = ++g->tail_subjects;
		r->tgid = 5000000u + (uint32_t)(t % 100000000u); /* > pid_max: never alive */
		r->pid = r->tgid;
		r->ppid = 1 + (uint32_t)(y % 30000);
		r->uid = r->euid = r->gid = 1000 + (uint32_t)(t % 7);
		r->cgroup_id = 9000 + t % 13;
		r->mnt_ns = 4026531841u;
		r->exe_ino = 1000000 + t;
		snprintf(r->comm, sizeof(r->comm), "job%011llu", (unsigned long long)t);
		ids->subject = DL_GEN_SUBJECTS + (int64_t)t;
		ids->exe = NULL;
	} else {
		unsigned s = g->zipf_subj[(x >> 40) & 0xffff];
		const struct dl_gen_service *sv = &g->svc[s % DL_GEN_SERVICES];
		unsigned var = s / DL_GEN_SERVICES; /* 0..3 */
		r->tgid = sv->tgid;
		r->pid = (y & 7) == 0 ? sv->tgid + 1 + (uint32_t)((y >> 3) & 7) : sv->tgid;
		r->ppid = 1;
		r->uid = r->euid = r->gid = var == 0 ? 0 : 100 + s % DL_GEN_SERVICES;
		r->cgroup_id = 5000 + s % DL_GEN_SERVICES + (var == 3 ? 1000 : 0);
		r->mnt_ns = var == 2 ? 4026532000u + s : 4026531841u;
		r->exe_ino = sv->exe_ino;
		strncpy(r->comm, sv->name, sizeof(r->comm) - 1);
		ids->subject = 1 + s;
		ids->exe = sv->exe[0] ? sv->exe : NULL;
	}
	r->loginuid = 4294967295u;
	r->sessionid = 4294967295u;

	/* Object. */
	uint32_t addr;
	uint16_t port;
	if (((y >> 8) & 0x3ff) < g->tail_object_pm * 1024 / 1000) {
		uint64_t t = ++g->tail_objects;
		addr = 0x0b000000u + (uint32_t)(t * 2654435761u % 0xf0000000u);
		port = (uint16_t)(1024 + (t * 7919) % 60000);
		ids->object = DL_GEN_OBJECTS + (int64_t)t;
		r->rule_idx = DL_GEN_RULES - 1;
	} else {
		unsigned o = g->zipf_obj[(y >> 20) & 0xffff];
		static const uint16_t ports[] = { 443, 80, 53, 5432, 6379, 25, 8080, 9090 };
		addr = 0x0a000000u | (o % 13) << 16 | (o * 37) % 65536;
		port = ports[o % 8];
		ids->object = 1 + o;
		r->rule_idx = o % DL_GEN_RULES;
	}
	v4(r, addr);
	r->u.net.port = port;
	r->u.net.protocol = port == 53 ? IPPROTO_UDP : IPPROTO_TCP;
	r->u.net.sock_type = port == 53 ? 2 : 1;

	unsigned v = (unsigned)((y >> 40) % 100);
	if (v < 85) {
		r->verdict = DL_VERDICT_WOULD_DENY;
	} else if (v < 97) {
		r->verdict = DL_VERDICT_ALLOW;
		if (v & 1)
			r->rule_idx = DL_RULE_NONE;
	} else {
		r->verdict = DL_VERDICT_DENY;
		r->enforced = 1;
	}
}
