/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Record ABI v2 as the collector reads it (collector/ingest.c,
 * dl_record_read and dl_ingest_add; docs/abi.md): a header plus a payload of
 * the family's size, any size from the header up for a known version,
 * shorter records and unknown versions skipped and counted per reason.
 * Records are built as the BPF side builds them (bpf/common.bpf.h: header,
 * then the family's payload struct, size = header + payload) in a buffer of
 * exactly that many bytes, so a read past the record would be seen by ASan.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "collector/ingest.h"

/* A record of version ver with a payload of plen bytes (filled with fill)
 * and size field size, in a malloc'd buffer of exactly len bytes. */
static void *mk(__u16 ver, __u16 family, size_t plen, __u8 fill, __u16 size, size_t len)
{
	size_t n = DL_RECORD_HDR_LEN + plen;
	__u8 *b = calloc(1, n > len ? n : len);
	struct dl_record h;

	memset(&h, 0, sizeof(h));
	h.version = ver;
	h.size = size;
	h.family = family;
	h.hook = DL_HOOK_SOCKET_CONNECT;
	h.seq = 7;
	h.ktime_ns = 1000;
	h.rule_idx = DL_RULE_NONE;
	h.tgid = 1;
	memcpy(h.comm, "rec", 3);
	memcpy(b, &h, DL_RECORD_HDR_LEN);
	memset(b + DL_RECORD_HDR_LEN, fill, plen);
	if (len < n) { /* the caller wants it cut short: a buffer of exactly len */
		__u8 *c = malloc(len ? len : 1);

		memcpy(c, b, len);
		free(b);
		return c;
	}
	return b;
}

static bool all(const __u8 *p, size_t n, __u8 v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

int main(void)
{
	struct dl_record out;
	struct dl_ingest in;
	void *b;
	size_t hdr = DL_RECORD_HDR_LEN, n;

	TAP_OK(hdr == 112, "the header is everything before the payload: 112 bytes (is %zu)", hdr);

	/* a record of each family's payload size, as the programs emit them */
#define FAM_SIZE(N, v, s, stem)                                                                     \
	n = sizeof(struct dl_##stem##_payload);                                                    \
	b = mk(DL_ABI_VERSION, DL_FAMILY_##N, n, 0xa5, (__u16)(hdr + n), hdr + n);                 \
	TAP_OK(dl_record_read(b, (__u32)(hdr + n), &out) == DL_REC_OK && out.size == hdr + n &&     \
	       out.family == DL_FAMILY_##N && all(out.u.raw, n, 0xa5) &&                          \
	       all(out.u.raw + n, sizeof(out.u) - n, 0) && (hdr + n) % 8 == 0,                    \
	       "family " s ": header + %zu-byte payload read whole, the rest of the union zero", n); \
	free(b);
	DL_FAMILIES(FAM_SIZE)

	/* the header alone: a family with nothing to say beyond it */
	b = mk(DL_ABI_VERSION, DL_FAMILY_NET, 0, 0, (__u16)hdr, hdr);
	memset(&out, 0xff, sizeof(out));
	TAP_OK(dl_record_read(b, (__u32)hdr, &out) == DL_REC_OK && out.seq == 7 && !memcmp(out.comm, "rec", 4) &&
	       all(out.u.raw, sizeof(out.u), 0), "a header-only record is read, its payload zero");
	free(b);

	/* larger than this build knows: read up to what it knows */
	n = sizeof(out.u) + 200;
	b = mk(DL_ABI_VERSION, DL_FAMILY_NET, n, 0x5a, (__u16)(hdr + n), hdr + n);
	TAP_OK(dl_record_read(b, (__u32)(hdr + n), &out) == DL_REC_OK && out.size == hdr + n &&
	       all(out.u.raw, sizeof(out.u), 0x5a), "a longer record of a known version: the known part is read");
	free(b);

	/* shorter than the header */
	for (size_t len = 0; len < hdr; len += 8) {
		b = mk(DL_ABI_VERSION, DL_FAMILY_NET, 0, 0, (__u16)hdr, len);
		if (dl_record_read(b, (__u32)len, &out) != DL_REC_SHORT)
			break;
		free(b);
		b = NULL;
	}
	TAP_OK(b == NULL, "a ring record shorter than the header (0 to %zu bytes) is short", hdr - 8);
	free(b);
	b = mk(DL_ABI_VERSION, DL_FAMILY_NET, 32, 0, (__u16)(hdr - 8), hdr + 32);
	TAP_OK(dl_record_read(b, (__u32)(hdr + 32), &out) == DL_REC_SIZE, "a size field below the header is refused");
	free(b);
	b = mk(DL_ABI_VERSION, DL_FAMILY_NET, 32, 0, (__u16)(hdr + 40), hdr + 32);
	TAP_OK(dl_record_read(b, (__u32)(hdr + 32), &out) == DL_REC_SIZE,
	       "a size field beyond the ring record is refused (never read past it)");
	free(b);

	/* versions */
	b = mk(1, DL_FAMILY_NET, DL_PAYLOAD_LEN, 0x11, 160, 160);
	TAP_OK(dl_record_read(b, 160, &out) == DL_REC_OK && out.version == 1 && out.flags == 0 &&
	       all(out.u.raw, DL_PAYLOAD_LEN, 0x11), "a version 1 record (160 bytes) is still read");
	free(b);
	b = mk(DL_ABI_VERSION + 1, DL_FAMILY_NET, 32, 0, (__u16)(hdr + 32), hdr + 32);
	TAP_OK(dl_record_read(b, (__u32)(hdr + 32), &out) == DL_REC_VERSION, "a newer version is unknown");
	free(b);
	b = mk(0, DL_FAMILY_NET, 32, 0, (__u16)(hdr + 32), hdr + 32);
	TAP_OK(dl_record_read(b, (__u32)(hdr + 32), &out) == DL_REC_VERSION, "version 0 is unknown");
	free(b);

	/* the ingest skips and counts each reason, and keeps going */
	if (dl_ingest_init(&in, NULL, NULL, 1, 0, 1, 0, -1, -1, 8)) {
		printf("Bail out! ingest init\n");
		return EXIT_FAILURE;
	}
	b = mk(DL_ABI_VERSION + 1, DL_FAMILY_NET, 32, 0, (__u16)(hdr + 32), hdr + 32);
	TAP_OK(dl_ingest_add(&in, b, (__u32)(hdr + 32)) == -EPROTO && in.n == 0, "unknown version skipped");
	TAP_OK(dl_ingest_add(&in, b, (__u32)(hdr + 32)) == -EPROTO, "and again");
	free(b);
	b = mk(DL_ABI_VERSION, DL_FAMILY_NET, 0, 0, (__u16)hdr, hdr - 8);
	TAP_OK(dl_ingest_add(&in, b, (__u32)(hdr - 8)) == -EPROTO && in.n == 0, "short record skipped");
	free(b);
	n = sizeof(struct dl_kvm_payload);
	b = mk(DL_ABI_VERSION, DL_FAMILY_KVM, n, 0x33, (__u16)(hdr + n), hdr + n);
	TAP_OK(dl_ingest_add(&in, b, (__u32)(hdr + n)) == 0 && in.n == 1 &&
	       in.batch[0].ev.rec.u.kvm.cmd == 0x33333333u, "a good record after them is taken");
	free(b);
	TAP_OK(in.skipped[DL_REC_VERSION] == 2 && in.skipped[DL_REC_SHORT] == 1 && in.skipped[DL_REC_SIZE] == 0 &&
	       in.bad == 3, "counted per reason: version 2, short 1, size 0 (bad %llu)", (unsigned long long)in.bad);
	TAP_OK(!strcmp(dl_rec_skip_key(DL_REC_VERSION), "version") && !strcmp(dl_rec_skip_name(DL_REC_SKIP_MAX), "?"),
	       "reasons have keys and names");
	dl_ingest_fini(&in);
	return tap_done();
}
