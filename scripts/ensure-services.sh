#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer on 127.0.0.1 (starting them, or installing them with apt-get,
# when they do not), that Debian's Chromium is there for the browser tests, and xmlsec1 (SAML signatures).
# Usage: scripts/ensure-services.sh [--no-postgres] [--no-redis] [--no-chromium] [--no-xmlsec]
set -euo pipefail

want_pg=1 want_redis=1 want_chromium=1 want_xmlsec=1
for arg in "$@"; do
  case "$arg" in
    --no-postgres) want_pg=0 ;;
    --no-redis) want_redis=0 ;;
    --no-chromium) want_chromium=0 ;;
    --no-xmlsec) want_xmlsec=0 ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { echo "[services] $*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if [ "$want_pg" = 1 ] && ! pg_up; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    say "installing PostgreSQL"; apt_install postgresql postgresql-client
  fi
  version=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)
  if [ -z "$version" ]; then say "no PostgreSQL cluster found after install" >&2; exit 1; fi
  say "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || { say "PostgreSQL does not answer on 127.0.0.1:5432" >&2; exit 1; }
fi

if [ "$want_redis" = 1 ] && ! redis_up; then
  if ! command -v redis-server >/dev/null 2>&1; then
    say "installing Redis"; apt_install redis-server
  fi
  say "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
  redis_up || { say "Redis does not answer on 127.0.0.1:6379" >&2; exit 1; }
fi

if [ "$want_chromium" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  say "installing Chromium for the browser tests"; apt_install chromium
fi
if [ "$want_xmlsec" = 1 ] && ! command -v xmlsec1 >/dev/null 2>&1; then
  say "installing xmlsec1 for SAML sign-in"; apt_install xmlsec1
fi
exit 0
