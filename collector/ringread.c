/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading the BPF ring buffer in place, releasing records only after commit.
 *
 * libbpf's ring_buffer__consume() moves the consumer position forward after
 * every callback, so a record is gone from the kernel's ring the moment the
 * callback returns; a collector killed between that and its SQLite commit
 * would lose it. Here the ring is mapped the way libbpf and the kernel lay it
 * out (kernel/bpf/ringbuf.c):
 *
 *   offset 0          one page: consumer position (user writable)
 *   offset page       one page: producer position (read-only)
 *   offset 2*page     data pages, mapped twice back to back so a record that
 *                     wraps around the end is contiguous in our mapping
 *
 * Each record starts with an 8-byte header: a u32 length whose bit 31 means
 * "still being written" (BUSY) and bit 30 "discarded", then a u32 page offset
 * used by the kernel. Records are 8-byte aligned.
 *
 * dl_ring_next() walks from our private read position without touching the
 * consumer position; dl_ring_release() publishes the read position to the
 * kernel (store-release) once the caller has committed what it read. After a
 * crash the consumer position is where the last commit left it, so the next
 * run re-reads at most the records of one uncommitted batch, which the store
 * ignores by (boot, seq). The space held by unreleased records is what the
 * producers see as full: they then drop and count, and never block.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "collector.h"

#define DL_RB_BUSY (1u << 31)
#define DL_RB_DISCARD (1u << 30)
#define DL_RB_HDR 8

int dl_ring_open(struct dl_ring *r, int map_fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	void *m;

	memset(r, 0, sizeof(*r));
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len) < 0)
		return -errno;
	if (info.type != BPF_MAP_TYPE_RINGBUF)
		return -EINVAL;
	r->fd = map_fd;
	r->page = sysconf(_SC_PAGESIZE);
	r->size = info.max_entries;
	r->mask = r->size - 1;

	m = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	r->cons_map = m;
	r->consumer = m;

	r->prod_map_len = r->page + 2 * r->size;
	m = mmap(NULL, r->prod_map_len, PROT_READ, MAP_SHARED, map_fd, r->page);
	if (m == MAP_FAILED) {
		int err = -errno;

		munmap(r->cons_map, r->page);
		return err;
	}
	r->prod_map = m;
	r->producer = m;
	r->data = (const uint8_t *)m + r->page;
	r->pos = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);
	return 0;
}

void dl_ring_close(struct dl_ring *r)
{
	if (r->prod_map)
		munmap(r->prod_map, r->prod_map_len);
	if (r->cons_map)
		munmap(r->cons_map, r->page);
	memset(r, 0, sizeof(*r));
}

int dl_ring_next(struct dl_ring *r, const void **data, __u32 *len)
{
	for (;;) {
		unsigned long prod = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);
		const __u32 *hdr;
		__u32 l;

		if (r->pos >= prod)
			return 0;
		hdr = (const __u32 *)(r->data + (r->pos & r->mask));
		l = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
		if (l & DL_RB_BUSY)
			return 0; /* reserved, not yet submitted: records stay in order */
		r->pos += (((l & ~DL_RB_DISCARD) + DL_RB_HDR) + 7) & ~7ul;
		if (l & DL_RB_DISCARD)
			continue;
		*data = (const uint8_t *)hdr + DL_RB_HDR;
		*len = l;
		return 1;
	}
}

void dl_ring_release(struct dl_ring *r)
{
	__atomic_store_n(r->consumer, r->pos, __ATOMIC_RELEASE);
}

void dl_ring_rewind(struct dl_ring *r)
{
	r->pos = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);
}
