#!/bin/sh
# A worker in POSIX shell: publishes a `desk.heartbeat` event and a notification every minute through the runtime
# API, with curl. The host gives it BOTYARD_RUNTIME_URL and BOTYARD_RUNTIME_TOKEN (its own token), stops it with
# SIGTERM, and keeps its output in its log.
#
#   workers:
#     heartbeat:
#       command: /bin/sh
#       args: ['${BOTYARD_ROOT}/strategies/runtime/heartbeat.sh']
#       env: {HEARTBEAT_SECONDS: "60"}
set -u

every="${HEARTBEAT_SECONDS:-60}"
case "$every" in
  '' | *[!0-9]*) echo "heartbeat: HEARTBEAT_SECONDS must be a whole number of seconds, not '$every'" >&2; exit 2 ;;
esac

# POSTs JSON to the runtime API; prints the host's answer, or its error on stderr.
api() {
  curl --silent --show-error --fail-with-body --max-time 10 \
    -H "Authorization: Bearer $BOTYARD_RUNTIME_TOKEN" -H 'Content-Type: application/json' \
    --data "$2" "$BOTYARD_RUNTIME_URL$1"
}

trap 'echo "heartbeat: stopping after $n beats"; exit 0' TERM INT

n=0
while :; do
  n=$((n + 1))
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  if answer=$(api /api/events "{\"kind\":\"desk.heartbeat\",\"payload\":{\"n\":$n,\"at\":\"$now\"}}"); then
    echo "heartbeat: beat $n published: $answer"
  else
    echo "heartbeat: beat $n not published: $answer" >&2
  fi
  api /api/events "{\"kind\":\"notify\",\"payload\":{\"title\":\"Heartbeat $n\",\"body\":\"alive at $now\",\"severity\":\"info\"}}" \
    >/dev/null || echo "heartbeat: notification $n not sent" >&2
  sleep "$every" &
  wait $!  # a TERM interrupts the wait at once
done
