/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Per-rule mode and the publishing order of a generation: see rulemode.h. */
#include <errno.h>
#include <string.h>
#include "rulemode.h"

__u64 dl_policy_tag(const char *sha256_hex)
{
	__u64 t = 0;

	for (int i = 0; i < 16 && sha256_hex[i]; i++) {
		char ch = sha256_hex[i];
		unsigned v = ch >= '0' && ch <= '9' ? (unsigned)(ch - '0') :
			     ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10) : 0;

		t = t << 4 | v;
	}
	return t;
}

/* The previous generation's entry for rule id, or NULL. */
static const struct dl_rule_mode *old_entry(const struct dl_rule_mode *old, size_t n_old, __u32 old_gen,
					    const char *id)
{
	int i = old ? dl_rule_mode_find(old, n_old, old_gen, id) : -ENOENT;

	return i < 0 ? NULL : &old[i];
}

size_t dl_rule_modes_build(const struct dl_policy *p, __u32 gen, const struct dl_rule_mode *old, size_t n_old,
			   __u32 old_gen, struct dl_rule_mode *out, dl_rule_mode_dropped_fn dropped, void *ctx)
{
	__u64 tag = dl_policy_tag(p->sha256);
	bool same = false;
	size_t carried = 0;

	for (size_t i = 0; old && i < n_old; i++)
		if (old[i].gen == old_gen && old_gen) {
			same = old[i].policy_tag == tag;
			break;
		}
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct dl_rule *r = &p->rules[i];
		const struct dl_rule_mode *o;

		memset(&out[i], 0, sizeof(out[i]));
		out[i].policy_tag = tag;
		out[i].gen = gen;
		out[i].family = r->family;
		out[i].file_mode = r->mode;
		out[i].mode = r->mode;
		memcpy(out[i].id, r->id, strnlen(r->id, sizeof(r->id)));
		o = same ? old_entry(old, n_old, old_gen, r->id) : NULL;
		if (o && o->mode != o->file_mode && o->file_mode == r->mode) {
			out[i].mode = o->mode;
			carried++;
		}
	}
	if (same || !dropped)
		return carried;
	/* Another policy: the file wins; say which runtime switches go. */
	for (size_t i = 0; old && i < n_old; i++) {
		const struct dl_rule *now = NULL;

		if (old[i].gen != old_gen || !old_gen || old[i].mode == old[i].file_mode)
			continue;
		for (size_t j = 0; j < p->n_rules && !now; j++)
			if (!strncmp(p->rules[j].id, old[i].id, sizeof(old[i].id)))
				now = &p->rules[j];
		dropped(&old[i], now, ctx);
	}
	return 0;
}

int dl_rule_mode_find(const struct dl_rule_mode *half, size_t n, __u32 gen, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (half[i].gen == gen && gen && !strncmp(half[i].id, id, sizeof(half[i].id)) &&
		    strlen(id) < sizeof(half[i].id))
			return (int)i;
	return -ENOENT;
}

bool dl_rule_mode_enforcing(const struct dl_rule_mode *m, __u32 family_mode)
{
	if (m->mode == DL_RULE_MODE_ENFORCE)
		return true;
	if (m->mode == DL_RULE_MODE_PERMISSIVE)
		return false;
	return family_mode == DL_MODE_ENFORCE;
}

bool dl_rule_mode_differs(const struct dl_rule_mode *m, __u32 family_mode)
{
	return m->mode != DL_RULE_MODE_FAMILY && dl_rule_mode_enforcing(m, family_mode) != (family_mode == DL_MODE_ENFORCE);
}

int dl_gen_publish(const struct dl_gen_ops *ops, void *ctx, __u32 gen, const struct dl_rule_mode *m, size_t n)
{
	int err;

	if ((err = ops->zero_counts(ctx, gen)))
		return err;
	if ((err = ops->write_modes(ctx, gen, m, n)))
		return err;
	if ((err = ops->install_rules(ctx, gen)))
		return err;
	return ops->publish(ctx, gen);
}
