/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Upgrading a running engine's programs in place (upgrade.c has the design). */
#ifndef DRYLOCK_UPGRADE_H
#define DRYLOCK_UPGRADE_H

#include <linux/bpf.h>
#include "collector.h"

struct bpf_object;
struct bpf_program;

/* Tag of a loaded program, as 16 hex digits. 0 or -errno. */
int dl_prog_tag(int prog_fd, char out[2 * BPF_TAG_SIZE + 1]);
/* The link's id and the tag of the program it holds. 0 or -errno. */
int dl_link_prog(int link_fd, __u32 *link_id, char tag[2 * BPF_TAG_SIZE + 1]);
/* Before load: every map of obj that is pinned already must have the
 * layout this build declares. 0, or -ESTALE after saying which map differs
 * and that `drylock unload` is needed (other -errno: could not look). */
int dl_upgrade_check_maps(struct bpf_object *obj);
/* prog (loaded) has a link pinned at lpath: 0 when it holds the same
 * program (same tag), 1 when it was replaced (u says how), -errno when it
 * could not be and the old program stays attached (logged). */
int dl_upgrade_link(const char *lpath, struct bpf_program *prog, const char *hook, struct dl_upgrade *u);
/* Say that a locked engine is not upgraded. */
void dl_upgrade_locked_note(const char *pin_dir);

#endif
