#!/bin/bash
# 93_probe_lock_waits.sh: lock-wait episodes from the in-server probe
# (issues 16 and 18).  80_lock_waits.sh with [sampler] source = probe: the
# probe's lock-manager snapshot gives each waiter's blocker, modes, target,
# waitStart and both statements, the sampler names the relation and
# follows the episodes with the SQL sampler's code, so the same blocked
# sessions must give the same lock_wait points, `top` line and `labsup
# waits` table (blocker, relation name, both statements, chain).
. "$(dirname "$0")/../lib.sh"
SO="$(dirname "$LABSUP")/labsup_probe.so"
[ -f "$SO" ] || skip "no $SO (make builds it with postgresql-server-dev-15)"
IT80_SOURCE=probe . "$(dirname "$0")/80_lock_waits.sh"
