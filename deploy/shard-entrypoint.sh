#!/bin/sh
# Start Mentor with the shard range of this pod: a StatefulSet's pod N runs shards
# N*SHARDS_PER_POD to N*SHARDS_PER_POD+SHARDS_PER_POD-1 of SHARD_COUNT.
#
# The ordinal comes from POD_ORDINAL (Kubernetes 1.28+ can set it from the label
# apps.kubernetes.io/pod-index) or else from the end of the pod's name (mentor-2 -> 2).
# Any arguments go to `python -m bot` (default: run). Bad input: one line, exit status 2,
# as the bot itself does for a wrong setting.
set -eu

fail() {
    echo "shard-entrypoint: $1" >&2
    exit 2
}

is_number() {
    case "$1" in
        '' | *[!0-9]*) return 1 ;;
        *) return 0 ;;
    esac
}

ordinal="${POD_ORDINAL:-${HOSTNAME##*-}}"
per_pod="${SHARDS_PER_POD:-}"
count="${SHARD_COUNT:-}"

is_number "$ordinal" || fail "no pod ordinal: set POD_ORDINAL or run in a StatefulSet (pod name ending in -N), got '$ordinal'"
is_number "$per_pod" && [ "$per_pod" -gt 0 ] || fail "SHARDS_PER_POD must be a whole number above 0, got '$per_pod'"
is_number "$count" && [ "$count" -gt 0 ] || fail "SHARD_COUNT must be a whole number above 0 (the total over all pods), got '$count'"

first=$((ordinal * per_pod))
last=$((first + per_pod - 1))
[ "$last" -lt "$count" ] || fail "pod $ordinal would run shards $first-$last but SHARD_COUNT is $count: give the StatefulSet SHARD_COUNT / SHARDS_PER_POD replicas"

SHARD_IDS="$first-$last"
export SHARD_IDS
echo "shard-entrypoint: pod $ordinal runs shards $SHARD_IDS of $count" >&2
[ "$#" -gt 0 ] || set -- run
exec python -m bot "$@"
