/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Upgrading a running engine: `drylock run` with a build whose programs
 * differ from the ones attached under the pin directory.
 *
 * A pinned link keeps its program attached after the collector exits, and a
 * restarted collector reuses it (loader.c). So that a new build does not
 * leave the old code running, the loader compares, for every program whose
 * link is pinned, the tag of the program behind the pinned link
 * (bpf_link_info.prog_id -> bpf_prog_info.tag: a hash of the instructions
 * the kernel computes at load) with the tag of the program it has just
 * loaded, and when they differ replaces it without a moment with neither
 * attached:
 *   1. bpf_link_update() on the pinned link: the link (id and pin) stays
 *      and its program is swapped atomically. Kernels up to at least 6.18
 *      have no update for tracing links (BPF_LSM_MAC) and answer EINVAL
 *      (or EOPNOTSUPP), so then:
 *   2. attach the new program (from now on both run: the newer first, and
 *      a deny from either denies, so nothing the policy denies gets
 *      through), pin the new link under a temporary name, rename it over
 *      the old pin (bpffs renames atomically), and drop our reference to
 *      the old link, which detaches it. An operation decided in that
 *      instant may be recorded by both programs (two sequence numbers).
 * Each replacement is reported to the caller (struct dl_upgrade) for the
 * journal and a USER_MAC_CONFIG_CHANGE op=upgrade audit record.
 *
 * Maps cannot be swapped like that: the new objects share the pinned maps
 * (LIBBPF_PIN_BY_NAME), and a pinned map whose type, key or value size,
 * flags or size differ from the new build's cannot be reused. That is
 * checked for every object before anything is loaded, and answered with
 * which map differs and that `drylock unload` is needed, nothing changed.
 *
 * An engine locked by `drylock lock` (dl_config.locked) is final until
 * reboot: the loader does not load this build's programs at all and keeps
 * the attached ones (upgrade_locked_note says so).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "collector.h"
#include "upgrade.h"

static void tag_hex(char out[2 * BPF_TAG_SIZE + 1], const __u8 tag[BPF_TAG_SIZE])
{
	for (int i = 0; i < BPF_TAG_SIZE; i++)
		snprintf(out + 2 * i, 3, "%02x", tag[i]);
}

int dl_prog_tag(int prog_fd, char out[2 * BPF_TAG_SIZE + 1])
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0)
		return -errno;
	tag_hex(out, info.tag);
	return 0;
}

int dl_link_prog(int link_fd, __u32 *link_id, char tag[2 * BPF_TAG_SIZE + 1])
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	int fd, err;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(link_fd, &info, &len) < 0)
		return -errno;
	*link_id = info.id;
	fd = bpf_prog_get_fd_by_id(info.prog_id);
	if (fd < 0)
		return -errno;
	err = dl_prog_tag(fd, tag);
	close(fd);
	return err;
}

static const char *map_type_name(enum bpf_map_type t)
{
	const char *s = libbpf_bpf_map_type_str(t);

	return s ? s : "?";
}

int dl_upgrade_check_maps(struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		const char *path = bpf_map__pin_path(map);
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		char what[160] = "";
		int fd;

		if (!path)
			continue; /* not pinned: the object's own */
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue; /* not pinned yet: created at load */
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) {
			int err = -errno;

			close(fd);
			dl_log("load: pinned map %s: %s", path, strerror(-err));
			return err;
		}
		close(fd);
		if (info.type != bpf_map__type(map))
			snprintf(what, sizeof(what), "type %s, this build's %s", map_type_name(info.type),
				 map_type_name(bpf_map__type(map)));
		else if (info.key_size != bpf_map__key_size(map))
			snprintf(what, sizeof(what), "key size %u, this build's %u", info.key_size,
				 bpf_map__key_size(map));
		else if (info.value_size != bpf_map__value_size(map))
			snprintf(what, sizeof(what), "value size %u, this build's %u", info.value_size,
				 bpf_map__value_size(map));
		else if (info.max_entries != bpf_map__max_entries(map))
			snprintf(what, sizeof(what), "%u entries, this build's %u", info.max_entries,
				 bpf_map__max_entries(map));
		else if (info.map_flags != bpf_map__map_flags(map))
			snprintf(what, sizeof(what), "flags 0x%x, this build's 0x%x", info.map_flags,
				 bpf_map__map_flags(map));
		if (what[0]) {
			dl_err("load: the pinned map %s has %s: this build cannot share it with the running "
			       "engine, so it cannot upgrade it in place. Nothing was changed (the attached "
			       "programs keep deciding). Run `drylock unload` (it stores what is pending and "
			       "detaches the engine), then `drylock run` with this build.", path, what);
			return -ESTALE;
		}
	}
	return 0;
}

int dl_upgrade_link(const char *lpath, struct bpf_program *prog, const char *hook, struct dl_upgrade *u)
{
	char tmp[PATH_MAX + 16];
	struct bpf_link *link;
	int link_fd, new_fd = bpf_program__fd(prog), err;

	memset(u, 0, sizeof(*u));
	snprintf(u->prog, sizeof(u->prog), "%s", bpf_program__name(prog));
	snprintf(u->hook, sizeof(u->hook), "%s", hook);
	link_fd = bpf_obj_get(lpath);
	if (link_fd < 0) {
		err = -errno;
		dl_log("load: pinned link %s: %s", lpath, strerror(-err));
		return err;
	}
	err = dl_link_prog(link_fd, &u->old_link_id, u->old_tag);
	if (!err)
		err = dl_prog_tag(new_fd, u->new_tag);
	if (err) {
		dl_log("load: %s: reading the program tags: %s", lpath, strerror(-err));
		goto out;
	}
	if (!strcmp(u->old_tag, u->new_tag)) {
		err = 0; /* the same program: nothing to do */
		goto out;
	}

	if (bpf_link_update(link_fd, new_fd, NULL) == 0) {
		u->how = "link_update";
		u->new_link_id = u->old_link_id;
		err = 1;
		goto out;
	}
	if (errno != EINVAL && errno != EOPNOTSUPP && errno != 524 /* ENOTSUPP */) {
		err = -errno;
		dl_log("load: upgrade %s: bpf_link_update: %s; the old program stays attached", u->prog,
		       strerror(-err));
		goto out;
	}
	/* No in-place update for this link type: new link first, then the pin. */
	link = bpf_program__attach_lsm(prog);
	if (!link) {
		err = -errno;
		dl_log("load: upgrade %s: attach: %s; the old program stays attached", u->prog, strerror(-err));
		goto out;
	}
	/* bpffs refuses names with a dot (reserved, kernel/bpf/inode.c) */
	snprintf(tmp, sizeof(tmp), "%s_upgrading", lpath);
	unlink(tmp); /* left by a run that died here */
	err = bpf_link__pin(link, tmp);
	if (!err && rename(tmp, lpath) < 0) {
		err = -errno;
		unlink(tmp);
	}
	if (err) {
		dl_log("load: upgrade %s: pin the new link at %s: %s; the old program stays attached", u->prog,
		       lpath, strerror(-err));
		bpf_link__destroy(link); /* unpinned: detaches the new one */
		goto out;
	}
	{
		__u32 id = 0;
		char t[2 * BPF_TAG_SIZE + 1];

		if (dl_link_prog(bpf_link__fd(link), &id, t) == 0)
			u->new_link_id = id;
	}
	bpf_link__destroy(link); /* the pin holds the new link now */
	u->how = "relink";
	err = 1;
out:
	close(link_fd); /* after a relink: the old link's last reference, detached */
	return err;
}

void dl_upgrade_locked_note(const char *pin_dir)
{
	dl_warn("load: the engine in %s is locked (`drylock lock`) until reboot: the attached programs stay "
		"as they are and this build's are not loaded, so it cannot upgrade them; collecting with "
		"the pinned programs and maps", pin_dir);
}
