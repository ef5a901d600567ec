#!/usr/bin/env bash
# make security: static checks, the pinned dependency versions, the security tests of the livelihood
# limits and the province officer's identity walk, and sqlmap against a live local instance.
# Writes docs/security-scan.md (summary: machine, versions, commands, sqlmap's verdict per target) and
# docs/sqlmap/<target>.log (sqlmap's console output, banner dropped, credentials redacted). Traffic goes to
# 127.0.0.1 only. Exit status 1 if any check finds something or could not run to the end.
# SQLMAP_ONLY="api-survivors api-referrals" runs only the named sqlmap targets (a partial run exits 1).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
PY=$VENV/bin/python
OUT=docs/security-scan.md
WORK=$(mktemp -d)
PORT=${SECURITY_PORT:-5099}
BASE="http://127.0.0.1:$PORT"
STARTED=$(date +%s)
trap 'kill $(cat "$WORK/gunicorn.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$WORK"' EXIT

if ! command -v sqlmap > /dev/null; then
  echo "sqlmap is missing: install Debian's package (apt-get install sqlmap)." >&2; exit 1
fi
if curl -s -o /dev/null "$BASE/"; then
  echo "Something already answers on $BASE: stop it or set SECURITY_PORT." >&2; exit 1
fi

section() { printf '\n## %s\n\n' "$1" >> "$OUT"; }
version_of() { "$@" 2>/dev/null | head -1; }
commit=$(git rev-parse --short HEAD)
dirty=$(git status --porcelain -- casework referral livelihood | wc -l)
{
  echo "# Security scan"
  echo
  echo "Written by \`make security\` (tools/security.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'); every result below"
  echo "comes from that run. Rerun it the same way; nothing here is edited by hand."
  echo
  echo "- Machine: $(nproc) cores, Debian $(cat /etc/debian_version 2>/dev/null || echo '?'), $(uname -m)."
  echo -n "- Code scanned: commit $commit"
  if [ "$dirty" -gt 0 ]; then echo " plus $dirty files changed or added in casework/, referral/, livelihood/ and not committed."
  else echo " (work tree clean in casework/, referral/, livelihood/)."; fi
  echo "- Tools: $($PY --version), bandit $($VENV/bin/bandit --version 2>/dev/null | sed -n '1s/^bandit //p'),"
  echo "  $(version_of $VENV/bin/ruff --version), sqlmap $(sqlmap --version 2>/dev/null | head -1),"
  echo "  gunicorn $($PY -c 'from importlib.metadata import version; print(version("gunicorn"))')."
} > "$OUT"

section "bandit (Python security linter)"
echo "Command: \`$VENV/bin/bandit -r casework referral livelihood -c pyproject.toml\` (tests, bench and migrations" >> "$OUT"
echo "excluded; the tests it skips, B405 and B406, are listed with their reason in pyproject.toml)." >> "$OUT"
echo >> "$OUT"
if $VENV/bin/bandit -r casework referral livelihood -c pyproject.toml -f txt > "$WORK/bandit.txt" 2>&1; then
  loc=$(sed -n 's/^\s*Total lines of code: //p' "$WORK/bandit.txt")
  silenced=$(sed -n 's/^\s*Total potential issues skipped due to specifically being disabled.*: //p' "$WORK/bandit.txt")
  echo "Result: no issue ($loc lines of code; $silenced findings silenced by an inline \`# nosec\`, each with its" >> "$OUT"
  echo "reason on the line or the line above)." >> "$OUT"
else
  echo "Result: **issues found**" >> "$OUT"
  echo '```' >> "$OUT"; sed -n '/^Test results:/,/^Code scanned:/p' "$WORK/bandit.txt" >> "$OUT"; echo '```' >> "$OUT"; BAD=1
fi

section "ruff security (S) and gettext (INT) rules"
echo "Command: \`$VENV/bin/ruff check --select S,INT casework referral livelihood\`" >> "$OUT"
echo >> "$OUT"
if $VENV/bin/ruff check --select S,INT casework referral livelihood > "$WORK/ruff.txt" 2>&1; then
  n=$(grep -rhoE "noqa: [^#]*S[0-9]+" casework referral livelihood --include=*.py | wc -l)
  echo "Result: no issue ($n lines carry an inline \`# noqa: S…\`, each with its reason)." >> "$OUT"
else
  echo "Result: **issues found**" >> "$OUT"
  echo '```' >> "$OUT"; cat "$WORK/ruff.txt" >> "$OUT"; echo '```' >> "$OUT"; BAD=1
fi

section "Installed versions of the declared dependencies"
echo "From setup.cfg's install_requires and its production extra, and the virtualenv (\`importlib.metadata\`):" >> "$OUT"
echo >> "$OUT"
echo '```' >> "$OUT"
if ! $PY - >> "$OUT" <<'PY'
import configparser, re, sys
from importlib.metadata import version, PackageNotFoundError
cfg = configparser.ConfigParser(); cfg.read("setup.cfg")
missing = 0
declared = cfg["options"]["install_requires"] + "\n" + cfg["options.extras_require"]["production"]
for line in filter(None, (ln.strip() for ln in declared.splitlines())):  # the extra's value starts on a new line
    name = re.split(r"[<>=\[ ]", line.strip(), maxsplit=1)[0]
    try:
        print(f"{name:28} {version(name):12} (declared {line.strip()[len(name):]})")
    except PackageNotFoundError:
        print(f"{name:28} MISSING"); missing += 1
sys.exit(1 if missing else 0)
PY
then BAD=1; fi
echo '```' >> "$OUT"

# --- the security tests of issue 12 ------------------------------------------------------------------------
# An .xlsx zip bomb is refused before parsing, and a province officer walking every livelihood page and API
# answer never meets a name or phone planted in the free text. Both must exist and pass.
section "Security tests: xlsx limits and the province officer's planted-identity walk"
SECURITY_TESTS=(tests/livelihood/test_workbook_limits.py tests/livelihood/test_province_identity_walk.py)
echo "Command: \`$PY -m pytest -p no:cacheprovider -q ${SECURITY_TESTS[*]}\`" >> "$OUT"
echo >> "$OUT"
missing=()
for f in "${SECURITY_TESTS[@]}"; do [ -f "$f" ] || missing+=("$f"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "security tests missing: ${missing[*]}" >&2
  echo "Result: **not run: test file missing** (${missing[*]})" >> "$OUT"; BAD=1
elif $PY -m pytest -p no:cacheprovider -q "${SECURITY_TESTS[@]}" > "$WORK/security-tests.txt" 2>&1; then
  echo "Result: passed ($(grep -E '^[0-9]+ passed' "$WORK/security-tests.txt" | tail -1 | sed 's/ in .*//'))." >> "$OUT"
else
  echo "Result: **failed**" >> "$OUT"
  echo '```' >> "$OUT"; grep -E '^(FAILED|ERROR)|[0-9]+ (passed|failed)' "$WORK/security-tests.txt" | tail -40 >> "$OUT"
  echo '```' >> "$OUT"; BAD=1
fi

# --- sqlmap ----------------------------------------------------------------------------------------------
section "sqlmap (SQL injection) against a live instance on 127.0.0.1:$PORT"
export TINCAY_INSTANCE_PATH="$WORK/instance" TINCAY_ENVIRONMENT=development
# sqlmap sends thousands of requests: the scan instance lifts the sign-in throttles it would otherwise hit.
export TINCAY_LOGIN_RATE_LIMIT="100000 per minute" TINCAY_LOGIN_MAX_FAILURES=100000
FLASK="$VENV/bin/flask --app wsgi"
COMMUNE=$($PY -c 'from casework.geo.data import communes; print(communes("19")[0].code)')
$FLASK keys init > /dev/null
$FLASK db upgrade > /dev/null 2>&1
$FLASK demo load --cases 200 > /dev/null  # enough cases for a second page (a real cursor) in the commune
new_officer() {  # username -> prints the TOTP secret of a new commune officer of the demo commune
  printf 'security-scan-password\n' | $FLASK users create "$1" --role commune_officer --scope "$COMMUNE" \
    --password-stdin | sed -n 's/^totp_secret: //p'
}
API_SECRET=$(new_officer scanapi)
WEB_SECRET=$(new_officer scanweb)
$VENV/bin/gunicorn --workers 2 --bind 127.0.0.1:$PORT --pid "$WORK/gunicorn.pid" --daemon wsgi:app
for _ in $(seq 1 50); do curl -sf "$BASE/api/v1/health" > /dev/null && break; sleep 0.2; done

# An API token and a signed-in browser session (cookie), and from the live data: a name that the search
# finds and the cursors of second pages, so that each parameter starts from a real, non-empty answer.
API_SECRET=$API_SECRET WEB_SECRET=$WEB_SECRET BASE=$BASE $PY - > "$WORK/session.env" <<'PY'
import http.cookiejar, json, os, re, shlex, urllib.parse, urllib.request
import pyotp
base = os.environ["BASE"]  # loopback only: every URL below is built from it
body = json.dumps({"username": "scanapi", "password": "security-scan-password",
                   "totp": pyotp.TOTP(os.environ["API_SECRET"]).now()}).encode()
req = urllib.request.Request(f"{base}/api/v1/auth/token", data=body, headers={"Content-Type": "application/json"})
token = json.load(urllib.request.urlopen(req))["token"]  # noqa: S310


def api(path):
    r = urllib.request.Request(f"{base}/api/v1/{path}", headers={"Authorization": f"Bearer {token}"})
    return json.load(urllib.request.urlopen(r))  # noqa: S310


cases = api("cases")
jar = http.cookiejar.CookieJar()
web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', web.open(f"{base}/login").read().decode()).group(1)
form = urllib.parse.urlencode({"csrf_token": csrf, "username": "scanweb", "password": "security-scan-password",
                               "totp": pyotp.TOTP(os.environ["WEB_SECRET"]).now()}).encode()
landed = web.open(f"{base}/login", data=form).url  # the officer's home: her work queue (issue 13)
assert "/login" not in landed and "/enrol" not in landed, f"the web sign-in failed ({landed})"
values = {"TOKEN": token, "COOKIE": "; ".join(f"{c.name}={c.value}" for c in jar),
          "NAME": urllib.parse.quote(cases["items"][0]["person"]["full_name"]), "CASES_AFTER": cases["next"] or "x",
          "SEARCH_JSON": json.dumps({"q": cases["items"][0]["person"]["full_name"]}),
          "ADDRESS": cases["items"][0]["address_id"], "ORG": api("organisations")["items"][0]["id"]}
for key, value in values.items():
    print(f"{key}={shlex.quote(value)}")
PY
# shellcheck disable=SC1091
. "$WORK/session.env"

mkdir -p docs/sqlmap
rm -f docs/sqlmap/*.log
SQLMAP_OPTS=(--batch --disable-coloring --level 2 --risk 1 --technique BEUS)
SUMMARY="$WORK/summary.md"; COMMANDS="$WORK/commands.md"
run_sqlmap() {  # name, "authenticated"|"public", then sqlmap's target arguments
  local name=$1 auth=$2; shift 2
  local log="docs/sqlmap/$name.log" traffic="$WORK/$name.traffic" t0=$SECONDS
  if [ -n "${SQLMAP_ONLY:-}" ] && [[ " $SQLMAP_ONLY " != *" $name "* ]]; then  # a partial run never passes
    printf '| %s | | | | | **not run** (SQLMAP_ONLY) |\n' "$name" >> "$SUMMARY"; BAD=1; return
  fi
  TERM=dumb sqlmap "${SQLMAP_OPTS[@]}" --output-dir "$WORK/sqlmap" -t "$traffic" "$@" < /dev/null > "$WORK/$name.out" 2>&1 || true
  # The console output without the banner, the legal notice and lines about local files; credentials redacted.
  sed -e '1,/^\[\*\] starting/{/^\[\*\] starting/!d}' \
      -e '/your sqlmap version is outdated/d' -e '/as the output directory/d' -e '/CSV results file/d' \
      -e '/you can find results of scanning/d' -e '/setting file for logging HTTP traffic/d' \
      -e "s#$TOKEN#<api-token>#g" -e "s#${COOKIE#*=}#<session-cookie>#g" \
      -e "s#tincay=[A-Za-z0-9._-]*\.\.\.[A-Za-z0-9._-]*#tincay=<new-session-cookie>#g" "$WORK/$name.out" > "$log"
  local stats verdict
  stats=$(AUTH=$auth $PY - "$traffic" "$log" <<'PY'
import collections, os, re, sys
traffic = open(sys.argv[1], encoding="utf-8", errors="replace").read() if os.path.exists(sys.argv[1]) else ""
codes = collections.Counter(re.findall(r"^HTTP response \[#\d+\] \((\d{3})", traffic, re.M))
to_login = len(re.findall(r"^URI: \S*/login\b", traffic, re.M))
with open(sys.argv[2], encoding="utf-8") as log:
    params = re.findall(r"testing for SQL injection on (\w+ parameter '[^']+')", log.read())
lost = os.environ["AUTH"] == "authenticated" and (codes["401"] or codes["403"] or to_login)
print(sum(codes.values()), ", ".join(f"{c}×{n}" for c, n in sorted(codes.items())) or "none",
      "LOST" if lost else "ok", "ERROR500" if codes["500"] else "ok", "|", "; ".join(params) or "none", sep="\t")
PY
)
  IFS=$'\t' read -r requests statuses auth_state server_errors _bar params <<< "$stats"
  if grep -qE "sqlmap identified the following injection point|is vulnerable" "$log"; then
    verdict="**INJECTION FOUND**"; BAD=1
  elif [ "$auth_state" = LOST ]; then
    verdict="**not valid: the session or token stopped working during the scan**"; BAD=1
  elif [ "$server_errors" = ERROR500 ]; then
    verdict="**server errors (500) under sqlmap's payloads**"; BAD=1
  elif grep -q "all tested parameters do not appear to be injectable" "$log"; then
    verdict="nothing found"
  else
    verdict="**did not complete**: $(grep -E '\[(ERROR|CRITICAL)\]' "$log" | tail -1 | cut -c1-200)"; BAD=1
  fi
  printf '| %s | %s | %s | %s | %s s | %s |\n' "$name" "${params//parameter /}" "$requests" "$statuses" \
    "$((SECONDS - t0))" "$verdict" >> "$SUMMARY"
  local shown="sqlmap ${SQLMAP_OPTS[*]}" arg
  for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_./:,=@%-]+$ ]]; then shown+=" $arg"; else shown+=" '$arg'"; fi
  done
  shown=${shown//$TOKEN/<api-token>}; shown=${shown//${COOKIE#*=}/<session-cookie>}; shown=${shown//$BASE/\$BASE}
  printf -- '- %s: `%s`\n' "$name" "$shown" >> "$COMMANDS"
}
AUTH_HEADER="Authorization: Bearer $TOKEN"
# Forms with a CSRF token refreshed per request run with one thread; the API targets with two.
run_sqlmap login-form public -u "$BASE/login" --data "username=a&password=b&totp=123456&csrf_token=x" \
  --csrf-token csrf_token --csrf-url "$BASE/login" -p "username,password,totp" --ignore-code 401
run_sqlmap web-case-search authenticated -u "$BASE/cases/search" --data "q=$NAME&address=$ADDRESS&csrf_token=x" \
  --csrf-token csrf_token --csrf-url "$BASE/cases" --cookie "$COOKIE" -p "q,address"
# The API's name search takes its term only in a JSON body (GET /cases?q= is refused with 400 search_in_body).
run_sqlmap api-case-search authenticated -u "$BASE/api/v1/cases/search" --data "$SEARCH_JSON" \
  -H "Content-Type: application/json" -H "$AUTH_HEADER" --threads 2
run_sqlmap api-case-filters authenticated -H "$AUTH_HEADER" --threads 2 \
  -u "$BASE/api/v1/cases?status=open&risk=high&form=physical&from=2025-01-01&to=2026-12-31&after=$CASES_AFTER"
run_sqlmap api-referrals authenticated -u "$BASE/api/v1/referrals?state=sent&overdue=false&after=x" \
  -H "$AUTH_HEADER" --threads 2
run_sqlmap api-proposals authenticated -u "$BASE/api/v1/proposals?state=approved&after=x" -H "$AUTH_HEADER" --threads 2
run_sqlmap api-survivors authenticated -u "$BASE/api/v1/survivors?after=x" -H "$AUTH_HEADER" --threads 2
run_sqlmap api-organisations authenticated -u "$BASE/api/v1/organisations?after=$ORG" -H "$AUTH_HEADER" --threads 2

{
  echo "A gunicorn instance (2 workers, SQLite) with \`flask demo load --cases 200\` and two commune officers"
  echo "created for the scan: one holds an API token, the other a browser session signed in through the login"
  echo "form. Search terms and cursors are taken from the live data (a demo name the search finds, the cursor of"
  echo "a second page), so that each parameter starts from a real answer; where the demo data has no second"
  echo "page (referrals, proposals, survivors) \`after=x\` is sent, which the cursor decoder refuses with 422"
  echo "before any SQL is built, so those runs show that the decoder holds. Techniques: boolean-based blind,"
  echo "error-based, UNION and stacked queries at level 2, risk 1; time-based blind is left out to bound the run."
  echo "A target counts as scanned only if sqlmap reports that it tested every parameter and none is injectable;"
  echo "an authenticated target that meets a 401/403 or the login page, or any 500 answer, fails the scan."
  echo
  echo "| Target | Parameters | Requests | HTTP answers | Time | sqlmap's verdict |"
  echo "|---|---|---|---|---|---|"
  cat "$SUMMARY"
  echo
  echo "Expected answers: the login form answers 401 to wrong credentials and 422 to a malformed field; the API"
  echo "answers 422 to a value outside a filter's list or a cursor it cannot decode. sqlmap's console output for"
  echo "each target is in \`docs/sqlmap/<target>.log\`."
  echo
  echo "Commands (\$BASE is $BASE):"
  echo
  cat "$COMMANDS"
  echo
  echo "The whole scan took $(( $(date +%s) - STARTED )) s."
} >> "$OUT"
exit ${BAD:-0}
