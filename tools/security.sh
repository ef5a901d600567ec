#!/usr/bin/env bash
# make security: static checks, the pinned dependency versions, and sqlmap against a live local instance.
# Writes docs/security-scan.md (summary) and docs/sqlmap/ (sqlmap's own logs). Traffic goes to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
PY=$VENV/bin/python
OUT=docs/security-scan.md
WORK=$(mktemp -d)
PORT=${SECURITY_PORT:-5099}
trap 'kill $(cat "$WORK/gunicorn.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$WORK"' EXIT

section() { printf '\n## %s\n\n' "$1" >> "$OUT"; }
{
  echo "# Security scan"
  echo
  echo "Run by \`make security\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(uname -sm)); every figure below comes from that run."
} > "$OUT"

section "bandit (Python security linter)"
if $VENV/bin/bandit -q -r casework referral livelihood -c pyproject.toml -f txt > "$WORK/bandit.txt" 2>&1; then
  echo "No issue found." >> "$OUT"
else
  echo '```' >> "$OUT"; cat "$WORK/bandit.txt" >> "$OUT"; echo '```' >> "$OUT"; BAD=1
fi

section "ruff security (S) and gettext (INT) rules"
if $VENV/bin/ruff check --select S,INT casework referral livelihood > "$WORK/ruff.txt" 2>&1; then
  echo "No issue found." >> "$OUT"
else
  echo '```' >> "$OUT"; cat "$WORK/ruff.txt" >> "$OUT"; echo '```' >> "$OUT"; BAD=1
fi

section "Installed versions of the declared dependencies"
echo '```' >> "$OUT"
$PY - >> "$OUT" <<'PY'
import configparser, re
from importlib.metadata import version, PackageNotFoundError
cfg = configparser.ConfigParser(); cfg.read("setup.cfg")
for line in cfg["options"]["install_requires"].strip().splitlines():
    name = re.split(r"[<>=\[ ]", line.strip(), maxsplit=1)[0]
    try:
        print(f"{name:28} {version(name):12} (declared {line.strip()[len(name):]})")
    except PackageNotFoundError:
        print(f"{name:28} MISSING")
PY
echo '```' >> "$OUT"

section "sqlmap (SQL injection) against a live instance on 127.0.0.1:$PORT"
export TINCAY_INSTANCE_PATH="$WORK/instance" TINCAY_ENVIRONMENT=development
# sqlmap sends thousands of requests: the scan instance lifts the sign-in throttles it would otherwise hit.
export TINCAY_LOGIN_RATE_LIMIT="100000 per minute" TINCAY_LOGIN_MAX_FAILURES=100000
FLASK="$VENV/bin/flask --app wsgi"
$FLASK keys init > /dev/null
$FLASK db upgrade > /dev/null 2>&1
$FLASK demo load --cases 40 > /dev/null
SECRET=$(printf 'security-scan-password\n' | $FLASK users create scanhost --role commune_officer --scope "$($PY -c 'from casework.geo.data import communes; print(communes("19")[0].code)')" --password-stdin | sed -n 's/^totp_secret: //p')
$VENV/bin/gunicorn --workers 2 --bind 127.0.0.1:$PORT --pid "$WORK/gunicorn.pid" --daemon wsgi:app
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/api/v1/health" > /dev/null && break; sleep 0.2; done
TOKEN=$(SECRET=$SECRET PORT=$PORT $PY - <<'PY'
import json, os, urllib.request, pyotp
body = json.dumps({"username": "scanhost", "password": "security-scan-password",
                   "totp": pyotp.TOTP(os.environ["SECRET"]).now()}).encode()
req = urllib.request.Request(f"http://127.0.0.1:{os.environ['PORT']}/api/v1/auth/token", data=body,
                             headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req))["token"])  # noqa: S310 - loopback only
PY
)
mkdir -p docs/sqlmap
SQLMAP=(sqlmap --batch --disable-coloring --level 2 --risk 1 --technique BEUS --output-dir "$WORK/sqlmap")
run_sqlmap() {  # name, then sqlmap arguments
  local name=$1; shift
  TERM=dumb "${SQLMAP[@]}" "$@" < /dev/null > "docs/sqlmap/$name.log" 2>&1 || true
  if grep -q "CRITICAL" "docs/sqlmap/$name.log"; then
    echo "- **$name: sqlmap could not run** (docs/sqlmap/$name.log)" >> "$OUT"; BAD=1; return
  fi
  if grep -qE "is vulnerable|sqlmap identified the following injection point" "docs/sqlmap/$name.log"; then
    echo "- **$name: INJECTION FOUND** (docs/sqlmap/$name.log)" >> "$OUT"; BAD=1
  else
    echo "- $name: nothing found ($(grep -cE '^\[' "docs/sqlmap/$name.log") log lines, docs/sqlmap/$name.log)" >> "$OUT"
  fi
}
run_sqlmap login-form -u "http://127.0.0.1:$PORT/login" --data "username=a&password=b&totp=123456&csrf_token=x" \
  --csrf-token csrf_token --csrf-url "http://127.0.0.1:$PORT/login" -p "username,password,totp"
for target in ${SQLMAP_API_TARGETS:-"organisations?after=x" "cases?q=x"}; do
  run_sqlmap "api-${target%%\?*}" -u "http://127.0.0.1:$PORT/api/v1/$target" -H "Authorization: Bearer $TOKEN" \
    --threads 2
done
sed -i "s#$WORK#<tmp>#g" docs/sqlmap/*.log
echo >> "$OUT"
echo "sqlmap options: ${SQLMAP[*]:1:8} (boolean, error, union and stacked techniques; time-based left out to bound the run; the login form is scanned with one thread because its CSRF token is refreshed per request)." >> "$OUT"
exit ${BAD:-0}
