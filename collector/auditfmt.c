/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Audit record text and deduplication (interface: auditfmt.h; conventions:
 * shared/AUDIT.md; user documentation: docs/audit-records.md).
 *
 * Injection: every byte that reaches a record from the subject (comm, exe)
 * or from a file an administrator wrote (policy name) goes through
 * dl_audit_encode(), which only ever emits "value" with a strict safe set or
 * upper-case hex, so no space, quote or '=' can open a second field. Every
 * other field is a number, a fixed keyword from the ABI name tables, or a
 * validated rule id; ids that are not (e.g. from a hand-edited store) are
 * hex-encoded too. The text has a fixed field order and each name once.
 *
 * Dedup: a fixed table of 'slots' entries, open addressing with a short
 * linear probe, keyed by a 64-bit FNV-1a hash of the fields that make two
 * decisions "the same" for an administrator. A hash collision merges two
 * keys (one of them under-logged for a window), which only costs audit
 * detail: the SQLite store still has every decision. When the probe window is
 * full the entry seen longest ago is evicted. A token bucket of 'burst'
 * records per second caps the total; a decision refused by the bucket is not
 * remembered, so it is logged once tokens are back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auditfmt.h"
#include "audit-family.h"
#include "names.h"

#define DL_X_AUDIT_DECL(n, v, s, stem) extern const struct dl_audit_family dl_audit_family_##stem;
DL_FAMILIES(DL_X_AUDIT_DECL)
#define DL_X_AUDIT_ROW(n, v, s, stem) [DL_FAMILY_##n] = &dl_audit_family_##stem,
const struct dl_audit_family *const dl_audit_families[DL_FAMILY_MAX] = { DL_FAMILIES(DL_X_AUDIT_ROW) };

#define NSEC_PER_SEC 1000000000ull
#define DEDUP_PROBE 8

static bool safe_byte(unsigned char ch)
{
	return ch >= 0x21 && ch <= 0x7e && ch != '"' && ch != '\'' && ch != '=' && ch != '\\';
}

int dl_audit_encode(char *out, size_t outlen, const void *val, size_t len, size_t maxin)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *v = val;
	bool quote = true;
	size_t n = len < maxin ? len : maxin, need;

	for (size_t i = 0; i < n; i++)
		if (!safe_byte(v[i])) {
			quote = false;
			break;
		}
	if (n == 0)
		quote = true;
	need = quote ? n + 3 : 2 * n + 1;
	if (!out || outlen < need)
		return -ENOSPC;
	if (quote) {
		out[0] = '"';
		memcpy(out + 1, v, n);
		out[n + 1] = '"';
		out[n + 2] = '\0';
		return (int)(n + 2);
	}
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[v[i] >> 4];
		out[2 * i + 1] = hex[v[i] & 0xf];
	}
	out[2 * n] = '\0';
	return (int)(2 * n);
}

int dl_audit_result(const struct dl_record *rec)
{
	return rec->verdict == DL_VERDICT_DENY ? 0 : 1;
}

struct tbuf {
	char *s;
	size_t len, cap;
	bool full;
};

static void tb_printf(struct tbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(struct tbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		b->full = true;
	else
		b->len += (size_t)n;
}

/* " name=<enc>"; NULL value is an unquoted "?". */
static void tb_enc(struct tbuf *b, const char *name, const void *val, size_t len)
{
	char enc[2 * DL_AUDIT_MAX_VALUE + 3];

	if (!val) {
		tb_printf(b, " %s=?", name);
		return;
	}
	if (dl_audit_encode(enc, sizeof(enc), val, len, DL_AUDIT_MAX_VALUE) < 0)
		b->full = true;
	else
		tb_printf(b, " %s=%s", name, enc);
}

static bool plain_id(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 32)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      (i && (ch == '.' || ch == '_' || ch == '-'))))
			return false;
	}
	return true;
}

static size_t comm_len(const char comm[DL_COMM_LEN])
{
	const char *z = memchr(comm, '\0', DL_COMM_LEN);

	return z ? (size_t)(z - comm) : DL_COMM_LEN;
}

int dl_audit_format_avc(char *out, size_t outlen, const struct dl_event *ev,
			const char *policy_name, const char *boot_id)
{
	const struct dl_record *r = &ev->rec;
	const struct dl_audit_family *fam;
	struct tbuf b = { .s = out, .cap = outlen < DL_AUDIT_MAX_TEXT ? outlen : DL_AUDIT_MAX_TEXT };
	char boot[9] = "?";

	if (!out || !outlen)
		return -ENOSPC;
	out[0] = '\0';
	if (boot_id && strlen(boot_id) >= 8 && strspn(boot_id, "0123456789abcdefABCDEF") >= 8) {
		memcpy(boot, boot_id, 8);
		boot[8] = '\0';
	}

	/* aureport --avc reads the result and permission from "avc: <denied|
	 * granted> { <perm> }", the object from tcontext= and the class from the
	 * tclass= after it; comm= must follow tclass= (ausearch-parse.c). */
	fam = r->family < DL_FAMILY_MAX ? dl_audit_families[r->family] : NULL;
	tb_printf(&b, "avc:  %s  { %s } for op=%s lsm=%s", r->verdict == DL_VERDICT_ALLOW ? "granted" : "denied",
		  fam && fam->perm ? fam->perm(r) : dl_hook_name(r->hook), dl_hook_name(r->hook), DL_AUDIT_LSM);
	if (fam && fam->tcontext) {
		char obj[128];

		if (fam->tcontext(obj, sizeof(obj), r) < 0)
			b.full = true;
		else
			tb_printf(&b, " tcontext=%s", obj);
	} else {
		tb_printf(&b, " tcontext=?");
	}
	tb_printf(&b, " tclass=%s decision=%s enforcing=%u", dl_family_name(r->family),
		  dl_verdict_name(r->verdict), r->enforced ? 1u : 0u);
	tb_enc(&b, "policy", policy_name, policy_name ? strlen(policy_name) : 0);
	if (ev->rule_id && plain_id(ev->rule_id))
		tb_printf(&b, " rule=%s", ev->rule_id);
	else
		tb_enc(&b, "rule", ev->rule_id, ev->rule_id ? strlen(ev->rule_id) : 0);
	/* suid euid sgid sauid: names auparse interprets as a uid or gid, so
	 * ausearch -i shows each as a user or group name. No name but the
	 * header's ses= is read as a session: the unset session is written as
	 * "unset", what ausearch -i shows for an unset sauid or ses. */
	tb_printf(&b, " seq=%llu boot=%s spid=%u stid=%u sppid=%u suid=%u euid=%u sgid=%u sauid=%u",
		  (unsigned long long)r->seq, boot, r->tgid, r->pid, r->ppid, r->uid, r->euid,
		  r->gid, r->loginuid);
	if (r->sessionid == DL_AUDIT_UNSET)
		tb_printf(&b, " sses=unset");
	else
		tb_printf(&b, " sses=%u", r->sessionid);
	tb_printf(&b, " scgroup=%llu", (unsigned long long)r->cgroup_id);
	tb_enc(&b, "comm", r->comm, comm_len(r->comm));
	tb_enc(&b, "cmd", ev->exe, ev->exe ? strlen(ev->exe) : 0);

	if (fam) {
		char fields[DL_AUDIT_MAX_TEXT];

		if (fam->fields(fields, sizeof(fields), r) < 0)
			b.full = true;
		else
			tb_printf(&b, "%s", fields);
	}
	/* A string in the payload was cut at its field's size (docs/abi.md). */
	if (r->flags & DL_REC_F_TRUNCATED)
		tb_printf(&b, " trunc=1");
	if (b.full) {
		out[0] = '\0';
		return -ENOSPC;
	}
	return (int)b.len;
}

/* ------------------------------------------------------------------------ */
/* lifecycle records */

static int done(struct tbuf *b)
{
	if (b->full) {
		if (b->cap)
			b->s[0] = '\0';
		return -ENOSPC;
	}
	return (int)b->len;
}

int dl_audit_format_policy_load(char *out, size_t outlen, const char *policy_name,
				const char *sha256, size_t rules, unsigned gen)
{
	struct tbuf b = { .s = out, .cap = outlen };

	if (!out || !outlen)
		return -ENOSPC;
	tb_printf(&b, "op=load_policy lsm=%s", DL_AUDIT_LSM);
	tb_enc(&b, "policy", policy_name, policy_name ? strlen(policy_name) : 0);
	tb_printf(&b, " sha256=%s rules=%zu gen=%u", sha256 && *sha256 ? sha256 : "?", rules, gen);
	return done(&b);
}

int dl_audit_format_start(char *out, size_t outlen, int old_enabled, int enforcing)
{
	struct tbuf b = { .s = out, .cap = outlen };

	if (!out || !outlen)
		return -ENOSPC;
	tb_printf(&b, "op=start lsm=%s enabled=1 old-enabled=%d enforcing=%d", DL_AUDIT_LSM,
		  !!old_enabled, !!enforcing);
	return done(&b);
}

int dl_audit_format_stop(char *out, size_t outlen, int enforcing)
{
	struct tbuf b = { .s = out, .cap = outlen };

	if (!out || !outlen)
		return -ENOSPC;
	tb_printf(&b, "op=stop lsm=%s enabled=1 enforcing=%d", DL_AUDIT_LSM, !!enforcing);
	return done(&b);
}

int dl_audit_format_setenforce(char *out, size_t outlen, unsigned family, const char *rule_id,
			       int enforcing, int old_enforcing)
{
	struct tbuf b = { .s = out, .cap = outlen };

	if (!out || !outlen)
		return -ENOSPC;
	tb_printf(&b, "op=setenforce lsm=%s class=%s", DL_AUDIT_LSM, dl_family_name(family));
	if (rule_id && plain_id(rule_id))
		tb_printf(&b, " rule=%s", rule_id);
	else if (rule_id)
		tb_enc(&b, "rule", rule_id, strlen(rule_id));
	tb_printf(&b, " enforcing=%d old_enforcing=%d", !!enforcing, !!old_enforcing);
	return done(&b);
}

int dl_audit_format_suppressed(char *out, size_t outlen, uint64_t n)
{
	struct tbuf b = { .s = out, .cap = outlen };

	if (!out || !outlen)
		return -ENOSPC;
	tb_printf(&b, "op=suppressed lsm=%s suppressed=%llu", DL_AUDIT_LSM, (unsigned long long)n);
	return done(&b);
}

int dl_audit_format_lock(char *out, size_t outlen, unsigned maps, int enforcing)
{
	struct tbuf b = { .s = out, .cap = outlen };

	if (!out || !outlen)
		return -ENOSPC;
	tb_printf(&b, "op=lock lsm=%s locked=1 old-locked=0 maps=%u enforcing=%d", DL_AUDIT_LSM, maps,
		  !!enforcing);
	return done(&b);
}

int dl_audit_format_unload(char *out, size_t outlen, int64_t stored, uint64_t lost, uint64_t seq)
{
	struct tbuf b = { .s = out, .cap = outlen };

	if (!out || !outlen)
		return -ENOSPC;
	tb_printf(&b, "op=unload lsm=%s enabled=0 old-enabled=1 stored=%lld lost=%llu seq=%llu",
		  DL_AUDIT_LSM, (long long)stored, (unsigned long long)lost, (unsigned long long)seq);
	return done(&b);
}

int dl_audit_format_upgrade(char *out, size_t outlen, const char *hook, const char *prog,
			    const char *old_tag, const char *new_tag, const char *how)
{
	struct tbuf b = { .s = out, .cap = outlen };

	if (!out || !outlen)
		return -ENOSPC;
	/* hook, program name, tags and how are drylock's own words (no
	 * untrusted bytes): written plain */
	tb_printf(&b, "op=upgrade lsm=%s hook=%s prog=%s old_tag=%s new_tag=%s how=%s", DL_AUDIT_LSM, hook,
		  prog, old_tag, new_tag, how);
	return done(&b);
}

/* ------------------------------------------------------------------------ */
/* dedup */

struct dedup_slot {
	uint64_t hash;           /* 0: empty */
	uint64_t first_ns;       /* when this key was last logged */
};

struct dl_dedup {
	size_t slots;
	uint64_t window_ns;
	unsigned burst;          /* 0: no rate limit */
	uint64_t tokens;         /* in 1/NSEC_PER_SEC of a record */
	uint64_t last_ns;
	bool started;
	uint64_t suppressed;
	struct dedup_slot v[];
};

struct dl_dedup *dl_dedup_new(size_t slots, uint64_t window_ns, unsigned burst)
{
	struct dl_dedup *d;

	if (!slots || slots > (SIZE_MAX - sizeof(*d)) / sizeof(d->v[0])) {
		errno = EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d) + slots * sizeof(d->v[0]));
	if (!d)
		return NULL;
	d->slots = slots;
	d->window_ns = window_ns;
	d->burst = burst;
	d->tokens = (uint64_t)burst * NSEC_PER_SEC;
	return d;
}

void dl_dedup_free(struct dl_dedup *d)
{
	free(d);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Key: policy, rule, verdict, enforcing, hook, uid, comm, exe, object. Each
 * string is hashed with its length so "ab"+"c" differs from "a"+"bc". */
static uint64_t dedup_key(const struct dl_event *ev)
{
	const struct dl_record *r = &ev->rec;
	uint64_t h = 0xcbf29ce484222325ull;
	size_t cl = comm_len(r->comm), el = ev->exe ? strlen(ev->exe) : (size_t)-1;

	h = fnv(h, &ev->policy_key, sizeof(ev->policy_key));
	h = fnv(h, &r->policy_gen, sizeof(r->policy_gen));
	h = fnv(h, &r->rule_idx, sizeof(r->rule_idx));
	h = fnv(h, &r->verdict, sizeof(r->verdict));
	h = fnv(h, &r->enforced, sizeof(r->enforced));
	h = fnv(h, &r->family, sizeof(r->family));
	h = fnv(h, &r->hook, sizeof(r->hook));
	h = fnv(h, &r->uid, sizeof(r->uid));
	h = fnv(h, &cl, sizeof(cl));
	h = fnv(h, r->comm, cl);
	h = fnv(h, &el, sizeof(el));
	if (ev->exe)
		h = fnv(h, ev->exe, el);
	if (r->family < DL_FAMILY_MAX && dl_audit_families[r->family]) {
		__u8 key[DL_PAYLOAD_LEN];
		size_t n = dl_audit_families[r->family]->dedup_key(r, key);

		h = fnv(h, key, n);
	} else {
		h = fnv(h, r->u.raw, sizeof(r->u.raw));
	}
	return h ? h : 1;
}

/* Take one token if there is one. Time going backwards refills nothing. */
static bool take_token(struct dl_dedup *d, uint64_t now)
{
	uint64_t cap = (uint64_t)d->burst * NSEC_PER_SEC;

	if (!d->burst)
		return true;
	if (!d->started) {
		d->started = true;
		d->last_ns = now;
	}
	if (now > d->last_ns) {
		uint64_t el = now - d->last_ns;

		if (el > NSEC_PER_SEC)
			el = NSEC_PER_SEC; /* a full second refills the bucket anyway */
		d->tokens += el * d->burst;
		if (d->tokens > cap)
			d->tokens = cap;
		d->last_ns = now;
	}
	if (d->tokens < NSEC_PER_SEC)
		return false;
	d->tokens -= NSEC_PER_SEC;
	return true;
}

int dl_dedup_check(struct dl_dedup *d, const struct dl_event *ev, uint64_t now_ns)
{
	uint64_t h = dedup_key(ev);
	size_t start = (size_t)(h % d->slots), probe = d->slots < DEDUP_PROBE ? d->slots : DEDUP_PROBE;
	struct dedup_slot *hit = NULL, *empty = NULL, *oldest = NULL;

	for (size_t i = 0; i < probe; i++) {
		struct dedup_slot *s = &d->v[(start + i) % d->slots];

		if (s->hash == h) {
			hit = s;
			break;
		}
		if (!s->hash) {
			if (!empty)
				empty = s;
		} else if (!oldest || s->first_ns < oldest->first_ns) {
			oldest = s;
		}
	}
	/* slightly out-of-order times (records from several CPUs) count as inside */
	if (hit && (now_ns < hit->first_ns || now_ns - hit->first_ns < d->window_ns)) {
		d->suppressed++;
		return 0;
	}
	if (!take_token(d, now_ns)) {
		d->suppressed++;
		return 0;
	}
	if (!hit)
		hit = empty ? empty : oldest;
	hit->hash = h;
	hit->first_ns = now_ns;
	return 1;
}

uint64_t dl_dedup_take_suppressed(struct dl_dedup *d)
{
	uint64_t n = d->suppressed;

	d->suppressed = 0;
	return n;
}

/* ------------------------------------------------------------------------ */
/* confirmation tracking */

void dl_audit_track_init(struct dl_audit_track *t, int64_t mark)
{
	t->top = mark;
	t->pending = INT64_MAX;
	t->lost = INT64_MAX;
}

void dl_audit_track_queued(struct dl_audit_track *t, int64_t id)
{
	if (id > t->top)
		t->top = id;
}

void dl_audit_track_suppressed(struct dl_audit_track *t, int64_t id)
{
	if (id < t->pending)
		t->pending = id;
}

void dl_audit_track_lost(struct dl_audit_track *t, int64_t id)
{
	if (id < t->lost)
		t->lost = id;
	dl_audit_track_queued(t, id);
}

void dl_audit_track_summary(struct dl_audit_track *t, int ok)
{
	if (!ok && t->pending < t->lost)
		t->lost = t->pending;
	t->pending = INT64_MAX;
}

int64_t dl_audit_track_mark(const struct dl_audit_track *t, int64_t queued_min)
{
	int64_t m = queued_min;

	if (t->pending < m)
		m = t->pending;
	if (t->lost < m)
		m = t->lost;
	if (m == INT64_MAX || m - 1 > t->top)
		return t->top;
	return m - 1;
}
