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
  if scripts/ensure-services.sh --no-postgres --no-chromium --no-xmlsec >/dev/null 2>&1; then
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

# /metrics answers this bearer token (Prometheus would send it); new each run unless given.
export IAMREVIEW_METRICS_TOKEN="${IAMREVIEW_METRICS_TOKEN:-$($PY -c 'import secrets; print(secrets.token_urlsafe(24))')}"

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

# `make demo-sso`: a local OpenID Connect provider (the test suite's, django-oauth-toolkit) on IDP_PORT, with
# people in IdP groups mapped to roles; the login page then offers single sign-on.
if [ "${IAMREVIEW_DEMO_SSO:-}" = "oidc" ]; then
  IDP_PORT="${IDP_PORT:-5056}"
  idp="http://127.0.0.1:$IDP_PORT"
  export IDP_DATABASE="$PWD/var/demo-idp.sqlite3"
  IDP_CONTROL_TOKEN=$($PY -c 'import secrets; print(secrets.token_hex(16))'); export IDP_CONTROL_TOKEN
  rm -f "$IDP_DATABASE"
  echo "[demo] starting a local OpenID Connect provider on $idp"
  $PY -m tests.sso.oidc_idp "$IDP_PORT" >var/log/idp.log 2>&1 & pids+=($!)
  for _ in $(seq 1 120); do grep -q listening var/log/idp.log 2>/dev/null && break; sleep 0.5; done
  grep -q listening var/log/idp.log || { echo "[demo] the provider did not start; see var/log/idp.log"; exit 1; }
  control() { curl -fs -X POST -H "X-Control-Token: $IDP_CONTROL_TOKEN" -d "$2" "$idp/control/$1" >/dev/null; }
  secret=$($PY -c 'import secrets; print(secrets.token_urlsafe(24))')
  control client "{\"client_id\": \"iamreview-demo\", \"client_secret\": \"$secret\", \"redirect_uris\": [\"http://127.0.0.1:$PORT/oidc/callback/\", \"http://localhost:$PORT/oidc/callback/\"]}"
  echo "people at the local identity provider (user, IdP group, password): use \"Sign in with single sign-on\"" >> var/demo-credentials.txt
  for pair in ada:security-reviewers grace:iam-admins linus:auditors mallory:marketing; do
    user=${pair%%:*} group=${pair##*:}
    pw=$($PY -c 'import secrets; print(secrets.token_urlsafe(12))')
    control user "{\"username\": \"$user\", \"password\": \"$pw\", \"email\": \"$user@example.com\", \"groups\": [\"$group\"]}"
    printf '%-9s %-18s %s\n' "$user" "$group" "$pw" >> var/demo-credentials.txt
  done
  export IAMREVIEW_OIDC_CLIENT_ID=iamreview-demo IAMREVIEW_OIDC_CLIENT_SECRET="$secret"
  export IAMREVIEW_OIDC_AUTHORIZATION_ENDPOINT="$idp/o/authorize/" IAMREVIEW_OIDC_TOKEN_ENDPOINT="$idp/o/token/"
  export IAMREVIEW_OIDC_USERINFO_ENDPOINT="$idp/o/userinfo/" IAMREVIEW_OIDC_JWKS_ENDPOINT="$idp/o/.well-known/jwks.json"
  export IAMREVIEW_OIDC_ISSUER="$idp/o"
  export IAMREVIEW_SSO_GROUP_MAP='{"security-reviewers": "reviewer", "iam-admins": "admin", "auditors": {"role": "viewer", "accounts": ["111111111111"]}}'
fi

# No -Q: one worker consumes every queue of CELERY_TASK_QUEUES (sync, analysis, apply, celery).
.venv/bin/celery -A iamreview worker -l INFO -c 2 >var/log/worker.log 2>&1 & pids+=($!)
.venv/bin/celery -A iamreview beat -l INFO -s var/celerybeat-schedule >var/log/beat.log 2>&1 & pids+=($!)
.venv/bin/gunicorn iamreview.wsgi -b "127.0.0.1:$PORT" -w 2 --access-logfile var/log/access.log \
  >var/log/web.log 2>&1 & pids+=($!)

for _ in $(seq 1 60); do
  curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "[demo] the web server did not start; see var/log/web.log"; exit 1; }

echo "[demo] linking the management account, prod, staging and sandbox, and running their first sync"
$PY manage.py demo_setup
# A REST API token for the reviewer (shown once; only its digest is stored), for scripting the demo.
api_token=$($PY manage.py create_api_token reviewer --name "demo script" 2>/dev/null)
printf 'API token (reviewer): %s\nMetrics token:        %s\n' "$api_token" "$IAMREVIEW_METRICS_TOKEN" >> var/demo-credentials.txt
echo "[demo] ready in $(( $(date +%s) - started )) s"

cat <<MSG

  iamreview is running on http://127.0.0.1:$PORT/
  Logs: var/log/{web,worker,beat}.log   Stop: Ctrl-C

  Log in as (user, role, password; also in var/demo-credentials.txt):
$(sed 's/^/    /' var/demo-credentials.txt)

  Script it: curl -H "Authorization: Bearer $api_token" http://127.0.0.1:$PORT/api/v1/findings/
  API reference: http://127.0.0.1:$PORT/api/v1/docs/   Tokens: http://127.0.0.1:$PORT/api/tokens/
  Prometheus: curl -H "Authorization: Bearer $IAMREVIEW_METRICS_TOKEN" http://127.0.0.1:$PORT/metrics

MSG
if [ "${DEMO_EXIT_WHEN_READY:-}" = "1" ]; then exit 0; fi
wait -n "${pids[@]}" || true
echo "[demo] a process stopped; see var/log/"
exit 1
