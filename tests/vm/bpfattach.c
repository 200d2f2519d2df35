/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bpfattach: load every program of a BPF object, attach each one and pin its
 * link, for the VM smoke test.
 *
 * Debian 12's bpftool (7.1) can load an object (`prog loadall`) but has no
 * `autoattach`, and `prog attach` does not do LSM programs. This is the
 * missing half: what `bpftool prog loadall OBJ DIR autoattach` does in later
 * bpftool versions, with the verifier log on failure.
 *
 * Usage: bpfattach OBJ PINDIR
 *   Maps with LIBBPF_PIN_BY_NAME are pinned under PINDIR/maps, links as
 *   PINDIR/<program name>. Removing PINDIR detaches everything.
 *   Prints one line per attached program: "attached <name> (<section>)",
 *   and "skipped <name>: <why>" for a program that does not fit this kernel
 *   (the loader's rule, collector/hookfit.h).
 * Exit: 0 all attached; 1 open, load (the verifier log is printed on stderr
 * by libbpf), attach or pin failed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>
#include "collector/hookfit.h"

static int print_warn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* warnings carry the verifier log of a program that fails to load */
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	struct bpf_object *obj = NULL;
	struct bpf_program *prog;
	char path[4096];
	int err, ret = EXIT_FAILURE;

	if (argc != 3) {
		fprintf(stderr, "usage: %s OBJ PINDIR\n", argv[0]);
		return EXIT_FAILURE;
	}
	libbpf_set_print(print_warn);

	if (mkdir(argv[2], 0700) && errno != EEXIST) {
		fprintf(stderr, "bpfattach: mkdir %s: %s\n", argv[2], strerror(errno));
		return EXIT_FAILURE;
	}
	snprintf(path, sizeof(path), "%s/maps", argv[2]);
	if (mkdir(path, 0700) && errno != EEXIST) {
		fprintf(stderr, "bpfattach: mkdir %s: %s\n", path, strerror(errno));
		return EXIT_FAILURE;
	}

	LIBBPF_OPTS(bpf_object_open_opts, oopts, .pin_root_path = path);
	obj = bpf_object__open_file(argv[1], &oopts);
	err = libbpf_get_error(obj);
	if (err) {
		obj = NULL;
		fprintf(stderr, "bpfattach: open %s: %s\n", argv[1], strerror(-err));
		goto out;
	}
	/* skip what drylock's loader would skip on this kernel */
	{
		struct btf *btf = btf__load_vmlinux_btf();
		char why[160];

		bpf_object__for_each_program(prog, obj) {
			if (btf && !dl_prog_fits(btf, prog, why, sizeof(why))) {
				printf("skipped %s: %s\n", bpf_program__name(prog), why);
				bpf_program__set_autoload(prog, false);
			}
		}
		btf__free(btf);
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "bpfattach: load %s: %s\n", argv[1], strerror(-err));
		goto out;
	}
	bpf_object__for_each_program(prog, obj) {
		struct bpf_link *link;

		if (!bpf_program__autoload(prog))
			continue;
		link = bpf_program__attach(prog);

		err = libbpf_get_error(link);
		if (err) {
			fprintf(stderr, "bpfattach: attach %s: %s\n",
				bpf_program__name(prog), strerror(-err));
			goto out;
		}
		snprintf(path, sizeof(path), "%s/%s", argv[2], bpf_program__name(prog));
		err = bpf_link__pin(link, path);
		if (err) {
			fprintf(stderr, "bpfattach: pin %s: %s\n", path, strerror(-err));
			bpf_link__destroy(link);
			goto out;
		}
		printf("attached %s (%s)\n", bpf_program__name(prog),
		       bpf_program__section_name(prog));
		/* the pin keeps the program attached after this process exits */
		bpf_link__disconnect(link);
		bpf_link__destroy(link);
	}
	ret = EXIT_SUCCESS;
out:
	bpf_object__close(obj);
	return ret;
}
