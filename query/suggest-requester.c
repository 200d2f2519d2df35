/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Suggestions for families whose exception is one allow rule per requester
 * (contract in suggest.h; kvm names the requester's cgroup). There is no
 * object to widen: a denied group's requester is the whole rule, so groups
 * with the same key text share one rule, and the rule's id is
 * "sug-" + 8 hex digits of the sha256 of "<family> allow<keys>", as
 * dl_suggest names its rules. Verification is dl_suggest's: the base text
 * plus every rule without a problem is parsed, compiled and each group
 * replayed (dl_replay_decide, the family's user-space decide); a group not
 * allowed leaves its rule unverified with the reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suggest.h"

/* Add group oi (obs[oi]) to s: counts, times, verdicts, deny rule. */
static int join(struct dl_suggestion *s, const struct dl_obs *o, size_t oi)
{
	size_t *no = realloc(s->obs, (s->n_obs + 1) * sizeof(*no));

	if (!no)
		return -ENOMEM;
	s->obs = no;
	s->obs[s->n_obs++] = oi;
	s->count += o->count;
	s->verdicts |= o->verdicts;
	if (o->first_ms < s->first_ms)
		s->first_ms = o->first_ms;
	if (o->last_ms > s->last_ms)
		s->last_ms = o->last_ms;
	if (o->deny_rule == DL_RULE_NONE)
		return 0;
	for (size_t j = 0; j < s->n_overrides; j++)
		if (s->overrides[j] == o->deny_rule)
			return 0;
	__u32 *ov = realloc(s->overrides, (s->n_overrides + 1) * sizeof(*ov));
	if (!ov)
		return -ENOMEM;
	s->overrides = ov;
	s->overrides[s->n_overrides++] = o->deny_rule;
	return 0;
}

/* One rule per distinct keys text; v has room for n. */
static int build(const struct dl_obs *obs, size_t n, dl_requester_keys_fn keys, struct dl_suggestion *v,
		 size_t *nv)
{
	for (size_t oi = 0; oi < n; oi++) {
		const struct dl_obs *o = &obs[oi];
		const char *fam = dl_family_name(dl_hook_family(o->in.hook)), *why = NULL;
		char k[4200], head[64], hash[65], *canon = NULL;
		struct dl_suggestion *s = NULL;
		int hl;

		if (keys(o, k, sizeof(k), &why) < 0)
			snprintf(k, sizeof(k), " cgroup=%s", o->cgroup ? o->cgroup : "/");
		for (size_t i = 0; i < *nv && !s; i++)
			if (!strcmp(v[i].text + v[i].keys_off, k) &&
			    !strncmp(v[i].text, fam, strlen(fam)) && v[i].text[strlen(fam)] == ' ')
				s = &v[i];
		if (!s) {
			if (asprintf(&canon, "%s allow%s", fam, k) < 0)
				return -ENOMEM;
			dl_sha256_hex(canon, strlen(canon), hash);
			free(canon);
			s = &v[(*nv)++];
			*s = (struct dl_suggestion){ .first_ms = INT64_MAX, .last_ms = INT64_MIN };
			snprintf(s->id, sizeof(s->id), "sug-%.8s", hash);
			hl = snprintf(head, sizeof(head), "%s allow %s", fam, s->id);
			if (asprintf(&s->text, "%s%s", head, k) < 0) {
				s->text = NULL;
				(*nv)--;
				return -ENOMEM;
			}
			s->keys_off = (size_t)hl;
			if (why && !(s->problem = strdup(why)))
				return -ENOMEM;
		}
		if (join(s, o, oi) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int verify(const struct dl_replay *base, const char *base_text, const struct dl_obs *obs,
		  struct dl_suggestion *v, size_t nv)
{
	struct dl_replay cand = { 0 };
	struct dl_diags dg = { 0 };
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	int e;

	if (!f)
		return -ENOMEM;
	fputs(base_text, f);
	fputc('\n', f);
	for (size_t i = 0; i < nv; i++)
		if (!v[i].problem)
			fprintf(f, "%s\n", v[i].text);
	if (fclose(f) != 0)
		return -ENOMEM;
	e = dl_replay_init(&cand, base->policy->name, text, &dg);
	free(text);
	for (size_t i = 0; i < nv; i++) {
		if (v[i].problem)
			continue;
		v[i].verified = e == 0;
		for (size_t j = 0; e == 0 && j < v[i].n_obs; j++) {
			__u8 act;
			__u32 rule;
			bool unk;

			if (dl_replay_decide(&cand, &obs[v[i].obs[j]].in, &act, &rule, &unk) < 0 ||
			    act != DL_ACTION_ALLOW)
				v[i].verified = false;
		}
		if (!v[i].verified &&
		    !(v[i].problem = strdup(e ? "the policy with this rule does not compile"
					      : "replayed with the suggestions, still denied")))
			e = -ENOMEM;
	}
	dl_replay_free(&cand);
	dl_diags_free(&dg);
	return e == -ENOMEM ? e : 0;
}

int dl_suggest_per_requester(const struct dl_replay *base, const char *base_text, const struct dl_obs *obs,
			     size_t n, dl_requester_keys_fn keys, struct dl_suggestion **out, size_t *n_out,
			     struct dl_suggest_info *info)
{
	struct dl_suggestion *v = n ? calloc(n, sizeof(*v)) : NULL;
	size_t nv = 0;
	int r;

	*info = (struct dl_suggest_info){ .v4_plen = 32, .v6_plen = 128 };
	*out = NULL;
	*n_out = 0;
	if (!n)
		return 0;
	if (!v)
		return -ENOMEM;
	r = build(obs, n, keys, v, &nv);
	if (r == 0)
		r = verify(base, base_text, obs, v, nv);
	if (r < 0) {
		dl_suggestions_free(v, nv);
		return r;
	}
	for (size_t i = 0; i < n; i++)
		info->events += obs[i].count;
	for (size_t i = 0; i < nv; i++)
		if (v[i].verified)
			info->covered += v[i].count;
	*out = v;
	*n_out = nv;
	return 0;
}
