/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * emitdrain: load bench/hook/emit.bpf.o, attach its programs, and drain its
 * ring buffer with a plain ring_buffer__poll loop that only counts records,
 * until SIGTERM or SIGINT. Writes READYFILE once attached; prints
 * "records=<n>" at the end. The naive pipeline of the hook benchmark.
 * Usage: emitdrain OBJ READYFILE
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

static volatile sig_atomic_t stop;
static unsigned long long records;

static void on_signal(int sig) { stop = 1; }

static int count(void *ctx, void *data, size_t len)
{
	records++;
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct ring_buffer *rb;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: emitdrain OBJ READYFILE\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "emitdrain: load %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(prog, obj)
		if (!bpf_program__attach(prog)) {
			fprintf(stderr, "emitdrain: attach %s: %s\n", bpf_program__name(prog), strerror(errno));
			return 1;
		}
	rb = ring_buffer__new(bpf_object__find_map_fd_by_name(obj, "emit_events"), count, NULL, NULL);
	if (!rb) {
		fprintf(stderr, "emitdrain: ring buffer: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	f = fopen(argv[2], "w");
	if (f)
		fclose(f);
	while (!stop)
		ring_buffer__poll(rb, 100);
	ring_buffer__consume(rb);
	printf("records=%llu\n", records);
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
