#!/usr/bin/env bash
# `make demo`: everything on one machine, no external service needed. Serves http://127.0.0.1:8000 with a
# real Celery worker and beat; Redis when it can run here, else kombu's filesystem broker (never eager mode).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export IAMREVIEW_DEMO=true
export DEBUG="${DEBUG:-false}"
PORT="${PORT:-8000}"
mkdir -p var/log var/broker/processed var/results

if [ -z "${CELERY_BROKER_URL:-}" ]; then
  if scripts/ensure-services.sh --no-postgres --no-chromium >/dev/null 2>&1; then
    export CELERY_BROKER_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
    echo "[demo] broker: Redis ($CELERY_BROKER_URL)"
  else
    export CELERY_BROKER_URL="filesystem://"
    echo "[demo] broker: no Redis here, using kombu's filesystem transport under var/broker"
  fi
fi

FAKEAWS_PORT="${FAKEAWS_PORT:-5055}"
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:$FAKEAWS_PORT}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-fakeaws}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-fakeaws}"
export IAMREVIEW_POLL_MS="${IAMREVIEW_POLL_MS:-100}"
export EMAIL_URL="${EMAIL_URL:-filemail:///$PWD/var/mail}"
mkdir -p var/mail

echo "[demo] migrating the database (${DATABASE_URL:-SQLite at var/iamreview.sqlite3})"
$PY manage.py migrate --no-input -v 0

# One user per role; passwords are new each run and written to var/demo-credentials.txt (git-ignored).
: > var/demo-credentials.txt
chmod 600 var/demo-credentials.txt
for pair in admin:admin reviewer:reviewer approver:approver manager:viewer; do
  user=${pair%%:*} role=${pair##*:}
  pw=$($PY -c 'import secrets; print(secrets.token_urlsafe(12))')
  DJANGO_USER_PASSWORD="$pw" $PY manage.py create_user "$user" --role "$role" --email "$user@example.com" >/dev/null
  printf '%-9s %-9s %s\n' "$user" "$role" "$pw" >> var/demo-credentials.txt
done

pids=()
stopped=0
# Runs once, whichever comes first: Ctrl-C (INT), TERM, or the script ending. Ctrl-C is how the demo is
# meant to stop, so it exits 0 (make then prints no "Error 130/143").
cleanup() {
  [ "$stopped" = 1 ] && return 0
  stopped=1
  echo "[demo] stopping"
  [ "${#pids[@]}" -gt 0 ] && kill "${pids[@]}" 2>/dev/null
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'cleanup; exit 0' INT TERM

started=$(date +%s)
echo "[demo] starting the local AWS (fakeaws) on port $FAKEAWS_PORT with the demo organisation"
$PY -m fakeaws.server --port "$FAKEAWS_PORT" --scenario demo >var/log/fakeaws.log 2>&1 & pids+=($!)
for _ in $(seq 1 240); do grep -q listening var/log/fakeaws.log 2>/dev/null && break; sleep 0.5; done
grep -q listening var/log/fakeaws.log || { echo "[demo] fakeaws did not start; see var/log/fakeaws.log"; exit 1; }

.venv/bin/celery -A iamreview worker -l INFO -c 2 >var/log/worker.log 2>&1 & pids+=($!)
.venv/bin/celery -A iamreview beat -l INFO -s var/celerybeat-schedule >var/log/beat.log 2>&1 & pids+=($!)
.venv/bin/gunicorn iamreview.wsgi -b "127.0.0.1:$PORT" -w 2 --access-logfile var/log/access.log \
  >var/log/web.log 2>&1 & pids+=($!)

for _ in $(seq 1 60); do
  curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "[demo] the web server did not start; see var/log/web.log"; exit 1; }

echo "[demo] linking prod, staging and sandbox, and running their first sync"
$PY manage.py demo_setup
echo "[demo] ready in $(( $(date +%s) - started )) s"

cat <<MSG

  iamreview is running on http://127.0.0.1:$PORT/
  Logs: var/log/{web,worker,beat}.log   Stop: Ctrl-C

  Log in as (user, role, password; also in var/demo-credentials.txt):
$(sed 's/^/    /' var/demo-credentials.txt)

MSG
if [ "${DEMO_EXIT_WHEN_READY:-}" = "1" ]; then exit 0; fi
wait -n "${pids[@]}" || true
echo "[demo] a process stopped; see var/log/"
exit 1
