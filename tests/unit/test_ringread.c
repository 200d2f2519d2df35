/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The in-place ring reader against a ring laid out by hand the way the kernel
 * lays it out (8-byte headers with BUSY/DISCARD bits, data mapped twice), so
 * wrap-around, unfinished and discarded records, and "release only after
 * commit" are checked without a kernel.
 */
#include <stdint.h>
#include <string.h>
#include "tap.h"
#include "collector/collector.h"

#define SIZE 256u

static uint8_t data[2 * SIZE];
static unsigned long cons, prod;

/* Write a record of len payload bytes at position pos (mirrored in both maps). */
static unsigned long put(unsigned long pos, uint32_t len, uint32_t flags, uint8_t fill)
{
	uint8_t rec[64];
	uint32_t hdr[2] = { len | flags, 0 };
	size_t total = (len + 8 + 7) & ~7u;

	memcpy(rec, hdr, 8);
	memset(rec + 8, fill, len);
	for (size_t i = 0; i < total; i++) {
		data[(pos + i) % SIZE] = rec[i];
		data[(pos + i) % SIZE + SIZE] = rec[i];
	}
	return pos + total;
}

static void ring_init(struct dl_ring *r, unsigned long start)
{
	memset(r, 0, sizeof(*r));
	memset(data, 0, sizeof(data));
	cons = prod = start;
	r->size = SIZE;
	r->mask = SIZE - 1;
	r->consumer = &cons;
	r->producer = &prod;
	r->data = data;
	r->pos = cons;
}

int main(void)
{
	struct dl_ring r;
	const void *p;
	__u32 len;

	ring_init(&r, 0);
	TAP_OK(dl_ring_next(&r, &p, &len) == 0, "empty ring yields nothing");

	prod = put(0, 20, 0, 0xaa);
	prod = put(prod, 12, 0, 0xbb);
	TAP_OK(dl_ring_next(&r, &p, &len) == 1 && len == 20 && ((const uint8_t *)p)[19] == 0xaa,
	       "first record read with its length and payload");
	TAP_OK(dl_ring_next(&r, &p, &len) == 1 && len == 12 && ((const uint8_t *)p)[0] == 0xbb,
	       "second record read");
	TAP_OK(cons == 0, "reading does not move the consumer position");
	dl_ring_rewind(&r);
	TAP_OK(dl_ring_next(&r, &p, &len) == 1 && len == 20, "rewind re-reads from the consumer position");
	dl_ring_next(&r, &p, &len);
	dl_ring_release(&r);
	TAP_OK(cons == prod && cons == 32 + 24, "release publishes the read position");

	/* A busy (reserved, unsubmitted) record blocks the ones after it. */
	ring_init(&r, 0);
	prod = put(0, 8, 1u << 31, 0x11);
	prod = put(prod, 8, 0, 0x22);
	TAP_OK(dl_ring_next(&r, &p, &len) == 0 && r.pos == 0, "busy record stops the reader, order kept");

	/* Discarded records are skipped. */
	ring_init(&r, 0);
	prod = put(0, 8, 1u << 30, 0x11);
	prod = put(prod, 8, 0, 0x22);
	TAP_OK(dl_ring_next(&r, &p, &len) == 1 && ((const uint8_t *)p)[0] == 0x22, "discarded record skipped");

	/* Wrap-around: a record straddling the end is contiguous via the mirror. */
	ring_init(&r, SIZE - 16);
	prod = put(SIZE - 16, 40, 0, 0x5c);
	TAP_OK(dl_ring_next(&r, &p, &len) == 1 && len == 40 && ((const uint8_t *)p)[39] == 0x5c,
	       "record wrapping past the end is read whole");
	dl_ring_release(&r);
	TAP_OK(cons == SIZE - 16 + 48, "positions keep growing past the ring size");
	return tap_done();
}
