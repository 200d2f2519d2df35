/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Name tables for the ABI enums, expanded from the X-macro lists. */
#ifndef DRYLOCK_NAMES_H
#define DRYLOCK_NAMES_H
#include "../bpf/drylock_abi.h"

/* Return the name, or "?" for an unknown value. */
const char *dl_family_name(unsigned v);
const char *dl_hook_name(unsigned v);
const char *dl_verdict_name(unsigned v);
const char *dl_action_name(unsigned v);
const char *dl_mode_name(unsigned v);
/* Reverse lookups: return the value, or -1 if the name is unknown. */
int dl_family_by_name(const char *s);
int dl_hook_by_name(const char *s);
int dl_verdict_by_name(const char *s);
int dl_action_by_name(const char *s);
int dl_mode_by_name(const char *s);
/* A rule's own mode (enum dl_rule_mode_value): "family", "permissive", "enforce". */
const char *dl_rule_mode_name(unsigned v);
int dl_rule_mode_by_name(const char *s);
/* The operation a hook's records are matched as (DL_NET_OP_* for net
 * hooks), and the family it belongs to; 0 for an unknown hook. */
unsigned dl_hook_op(unsigned hook);
unsigned dl_hook_family(unsigned hook);
#endif
