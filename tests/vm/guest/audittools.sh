#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The audit tools understand every record drylock writes (issue 9 s5), on the
# real log of a private auditd: a collector run in permissive mode with
# repeats (deduplicated), a bind, a switch to enforce and back, a stop and an
# unload produce USER_MAC_POLICY_LOAD, USER_MAC_STATUS op=start, setenforce,
# suppressed, stop, unload, and USER_AVC would-deny and deny records. Then:
#   - ausearch finds each record type and op;
#   - aureport --avc has no (null) and no unset result, and gives class net,
#     permission connect/bind, object addr:port, result denied;
#   - ausearch -i has no (null); a subject's suid and euid read the same,
#     and sauid and sses read alike (both "unset" when not logged in);
#   - aureport --mac lists the policy load and the status records.
# Usage: audittools.sh [BUILDDIR]   (default $DRYLOCK_BUILD_DIR)

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tap.sh
. "$here/tap.sh"

build=${1:-${DRYLOCK_BUILD_DIR:-}}
[ -n "$build" ] || { echo "Bail out! no build dir (argument or DRYLOCK_BUILD_DIR)"; exit 1; }
DL=$build/collector/drylock
C=$build/tests/vm/dlconnect
for f in "$DL" "$C"; do
	[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done

T=$(mktemp -d /tmp/audittools.XXXXXX)
LOG=$T/audit/audit.log
COLLECTOR_PID=

cleanup() {
	[ -n "$COLLECTOR_PID" ] && kill -TERM "$COLLECTOR_PID" 2>/dev/null && wait "$COLLECTOR_PID" 2>/dev/null
	"$DL" unload --discard-pending > /dev/null 2>&1
	audit_stop
	if [ -n "${DRYLOCK_VM_RESULTS:-}" ]; then
		cp -r "$T" "$DRYLOCK_VM_RESULTS/audittools" 2>/dev/null
	fi
}
trap cleanup EXIT

sql() { sqlite3 -batch -noheader -cmd '.timeout 10000' "$1" "$2" 2>&1; }
found() {  # found TOKEN ausearch-args...: waits up to 30 s for TOKEN in the log
	local tok=$1
	shift
	poll 30 sh -c 'log=$0 tok=$1; shift
		ausearch --input "$log" "$@" --raw 2>/dev/null | grep -qF -- "$tok"' "$LOG" "$tok" "$@"
}

cat > "$T/policy" <<'EOF'
policy audittools
net deny conn-block addr=127.0.0.2/32 port=9 proto=tcp op=connect
net deny bind-block addr=127.0.0.4/32 port=5555 proto=tcp op=bind
EOF
DB=$T/a.db

"$DL" unload --discard-pending > /dev/null 2>&1
if audit_start "$T/audit"; then
	tap_ok "private auditd starts"
else
	tap_not_ok "private auditd starts" "$(cat "$T/audit/auditd.out" 2>&1)"
fi

"$DL" run --policy "$T/policy" --db "$DB" --ready-file "$T/ready" > "$T/collector.log" 2>&1 &
COLLECTOR_PID=$!
poll 120 sh -c "[ -e '$T/ready' ] || ! kill -0 $COLLECTOR_PID 2>/dev/null"
if [ -e "$T/ready" ]; then
	tap_ok "collector starts"
else
	tap_not_ok "collector starts" "$(tail -n 20 "$T/collector.log")"
fi
"$C" -n 3 127.0.0.2 9 > /dev/null 2>&1       # one USER_AVC, two deduplicated
"$C" -b 127.0.0.4 5555 > /dev/null 2>&1      # a bind would-deny
"$DL" mode enforce > "$T/mode.out" 2>&1
"$C" 127.0.0.2 9 > /dev/null 2>&1             # a deny
"$DL" mode permissive >> "$T/mode.out" 2>&1
poll 60 sh -c "[ \"\$(sqlite3 -batch -noheader -cmd '.timeout 10000' '$DB' \
	\"select count(*) from events_v where verdict in ('would-deny','deny')\")\" -ge 5 ]"
kill -TERM "$COLLECTOR_PID"
wait "$COLLECTOR_PID" 2>/dev/null
COLLECTOR_PID=
"$DL" unload --db "$DB" > "$T/unload.out" 2>&1

for t in "op=load_policy:USER_MAC_POLICY_LOAD" "op=start:USER_MAC_STATUS" "op=setenforce:USER_MAC_STATUS" \
	"op=suppressed:USER_MAC_STATUS" "op=stop:USER_MAC_STATUS" "op=unload:USER_MAC_STATUS" \
	"decision=would-deny:USER_AVC" "decision=deny:USER_AVC" "{ bind }:USER_AVC"; do
	if found "${t%%:*}" -m "${t#*:}"; then
		tap_ok "${t#*:} ${t%%:*} is in the log"
	else
		tap_not_ok "${t#*:} ${t%%:*} is in the log" "$(ausearch --input "$LOG" --raw 2>&1 | tail -n 5)"
	fi
done

# aureport --avc: one line per USER_AVC of drylock's, every column filled
rep=$(aureport --avc --input "$LOG" 2>&1)
nrec=$(ausearch --input "$LOG" -m USER_AVC --raw 2>/dev/null | grep -c 'lsm=drylock')
lines=$(grep -cE '^[0-9]+\. ' <<< "$rep")
good=$(grep -cE '^[0-9]+\. .* net (connect|bind) 127\.0\.0\.[24]:(9|5555) denied [0-9]+$' <<< "$rep")
# The subj column is the kernel's header (the sender's LSM label): with no
# LSM that has labels the kernel writes no subj= and aureport says (null)
# there, which no user-space text can change. Every other column is ours.
nulls=$(grep -E '^[0-9]+\. ' <<< "$rep" | awk '{ $5 = ""; print }' | grep -cE '\(null\)| unset [0-9]+$')
if ! ausearch --input "$LOG" -m USER_AVC --raw 2>/dev/null | grep 'lsm=drylock' | grep -q ' subj='; then
	tap_diag "the kernel writes no subj= (no labelling LSM): aureport's subj column is (null)"
elif grep -E '^[0-9]+\. ' <<< "$rep" | awk '{ print $5 }' | grep -qF '(null)'; then
	nulls=$((nulls + 1))
fi
if [ "$nrec" -ge 3 ] && [ "$lines" = "$nrec" ] && [ "$good" = "$nrec" ] && [ "$nulls" = 0 ]; then
	tap_ok "aureport --avc: class, permission, object and result filled for all $nrec records"
else
	tap_not_ok "aureport --avc: class, permission, object and result filled for all records" \
		"records $nrec, lines $lines, good $good:
$rep"
fi
if grep -qE ' dlconnect [^ ]+ [0-9]+ net bind 127\.0\.0\.4:5555 denied ' <<< "$rep" &&
	grep -qE ' dlconnect [^ ]+ [0-9]+ net connect 127\.0\.0\.2:9 denied ' <<< "$rep"; then
	tap_ok "aureport --avc: the subject's comm, connect and bind"
else
	tap_not_ok "aureport --avc: the subject's comm, connect and bind" "$rep"
fi

# ausearch -i: nothing (null) in drylock's records (the kernel's own SYSCALL
# records print key=(null)); the subject's ids interpreted alike
interp=$(ausearch --input "$LOG" -i 2>&1 | grep 'lsm=drylock')
if [ -n "$interp" ] && ! grep -q '(null)' <<< "$interp"; then
	tap_ok "ausearch -i: no (null) in any of drylock's records ($(wc -l <<< "$interp"))"
else
	tap_not_ok "ausearch -i: no (null) in any of drylock's records" "$(grep '(null)' <<< "$interp" | head -n 3)"
fi
bad= checked=0
avcs=$(grep '^type=USER_AVC' <<< "$interp")
while IFS= read -r line; do
	[ -n "$line" ] || continue
	checked=$((checked + 1))
	v() { sed -nE "s/.* $1=([^ ']*).*/\1/p" <<< "$line"; }
	suid=$(v suid) euid=$(v euid) sauid=$(v sauid) sses=$(v sses)
	if [ -z "$suid" ] || [ "$suid" != "$euid" ] || [[ $suid =~ ^[0-9]+$ ]] ||
		[[ $sauid =~ ^[0-9]+$ ]] || [ "$sses" = 4294967295 ] ||
		{ [ "$sauid" = unset ] && [ "$sses" != unset ]; } ||
		{ [ "$sses" = unset ] && [ "$sauid" != unset ]; }; then
		bad+="$line"$'\n'
	fi
done <<< "$avcs"
n=$(grep -c . <<< "$avcs")
if [ "$n" -ge 3 ] && [ "$checked" = "$n" ] && [ -z "$bad" ]; then
	tap_ok "ausearch -i: suid/euid read as the same user, sauid and sses alike ($n records)"
else
	tap_not_ok "ausearch -i: suid/euid read as the same user, sauid and sses alike" "$n records; bad:
$bad"
fi

# aureport --mac: the policy load and every status record, with success
mac=$(aureport --mac --input "$LOG" 2>&1)
nmac=$(ausearch --input "$LOG" -m USER_MAC_STATUS,USER_MAC_POLICY_LOAD --raw 2>/dev/null | grep -c 'lsm=drylock')
lmac=$(grep -cE '^[0-9]+\. .* USER_MAC_(STATUS|POLICY_LOAD) yes [0-9]+$' <<< "$mac")
if [ "$nmac" -ge 6 ] && [ "$lmac" = "$nmac" ] && ! grep -q '(null)' <<< "$mac"; then
	tap_ok "aureport --mac: all $nmac policy and status records, success yes"
else
	tap_not_ok "aureport --mac: all policy and status records, success yes" "records $nmac, lines $lmac:
$mac"
fi
tap_done
