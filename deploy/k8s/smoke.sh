#!/usr/bin/env bash
# Deploys an overlay to a cluster, waits until it is ready, and checks it end to end through
# the gateway: an LMS question, a pack operation and a recall drill. Prints each check.
#
#   deploy/k8s/smoke.sh OVERLAY [KUBE_CONTEXT]        from the repository root
#
#   OVERLAY        dev or prod (a directory under deploy/k8s/overlays/)
#   KUBE_CONTEXT   the kubectl context to use; default: the current one
#
# Environment (all optional):
#   NAMESPACE      the overlay's namespace; default verinet-dev for dev, verinet otherwise
#   REDIS_URL      needed outside dev when the Secret verinet-redis does not exist yet
#   PYTHON         a Python that imports verinet (makes the first signing key); default python
#   VERINET_TOKEN  an admin token; without one, a throwaway admin is made inside the gateway
#                  pod (kubectl exec) and revoked at the end
#   GATEWAY_URL    the gateway's URL; without one, kubectl port-forward reaches service/gateway
#   SKIP_DEPLOY=1  check what runs, without creating or applying anything
#   TIMEOUT        how long to wait for the Deployments; default 5m
#
# It creates two partners (a manufacturer with a fresh random company prefix, and a
# dispenser), one product and one pack, and a mock recall (a drill: nobody is notified as for
# a real one), then revokes the partners it made. deploy/k8s/README.md ("Smoke test") says how
# to run it on kind, k3d or a cloud cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."

OVERLAY=${1:?usage: deploy/k8s/smoke.sh OVERLAY [KUBE_CONTEXT]}
CONTEXT=${2:-}
PYTHON=${PYTHON:-python}
TIMEOUT=${TIMEOUT:-5m}
if [ ! -d "deploy/k8s/overlays/$OVERLAY" ]; then
  echo "Failed to find overlay '$OVERLAY': expected a directory deploy/k8s/overlays/$OVERLAY" >&2
  exit 2
fi
case "$OVERLAY" in
  dev) NS=${NAMESPACE:-verinet-dev} ;;
  *) NS=${NAMESPACE:-verinet} ;;
esac

kube() {
  if [ -n "$CONTEXT" ]; then
    kubectl --context "$CONTEXT" "$@"
  else
    kubectl "$@"
  fi
}

checked=0
pass() {
  checked=$((checked + 1))
  printf 'ok   %s\n' "$*"
}
fail() {
  printf 'FAIL %s\n' "$*" >&2
  exit 1
}

# --- deploy ---------------------------------------------------------------------------------

if [ "${SKIP_DEPLOY:-}" != 1 ]; then
  if ! kube get namespace "$NS" >/dev/null 2>&1; then
    kube create namespace "$NS" >/dev/null
  fi
  pass "namespace $NS exists"
  # The verifier's verdict keys and recall-status's webhook keys: one fresh key each.
  for secret in verinet-signing-keys verinet-webhook-keys; do
    if ! kube -n "$NS" get secret "$secret" >/dev/null 2>&1; then
      keys=$(mktemp -d)
      "$PYTHON" -c 'import sys; from pathlib import Path; from verinet.signing import KeyRing; KeyRing.load_or_create(Path(sys.argv[1]))' "$keys/ring"
      key_files=("$keys"/ring/signing-*.pem)
      kube -n "$NS" create secret generic "$secret" "${key_files[@]/#/--from-file=}" >/dev/null
      rm -rf "$keys"
    fi
    pass "secret $secret exists in $NS"
  done
  if [ "$OVERLAY" != dev ]; then
    if ! kube -n "$NS" get secret verinet-redis >/dev/null 2>&1; then
      kube -n "$NS" create secret generic verinet-redis \
        --from-literal=url="${REDIS_URL:?set REDIS_URL: the Secret verinet-redis does not exist yet}" >/dev/null
    fi
    pass "secret verinet-redis exists in $NS"
  fi
  kube apply -k "deploy/k8s/overlays/$OVERLAY" >/dev/null
  pass "applied overlay $OVERLAY"
fi
kube -n "$NS" wait --for=condition=Available deployment --all --timeout="$TIMEOUT" >/dev/null
pass "every Deployment in $NS is available"

# --- reach the gateway ------------------------------------------------------------------------

forward_pid=""
admin_id=""
made_partners=()
cleanup() {
  for id in "${made_partners[@]}"; do
    call POST "/v1/partners/$id/revoke" "$ADMIN" >/dev/null 2>&1 || true
  done
  if [ -n "$admin_id" ]; then
    call POST "/v1/partners/$admin_id/revoke" "$ADMIN" >/dev/null 2>&1 || true
  fi
  if [ -n "$forward_pid" ]; then
    kill "$forward_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

URL=${GATEWAY_URL:-}
if [ -z "$URL" ]; then
  port=$((20000 + RANDOM % 20000))
  kube -n "$NS" port-forward service/gateway "$port:8080" >/dev/null 2>&1 &
  forward_pid=$!
  URL="http://127.0.0.1:$port"
fi
for _ in $(seq 1 30); do
  if curl -fsS -o /dev/null --max-time 2 "$URL/readyz"; then
    break
  fi
  sleep 1
done
curl -fsS -o /dev/null --max-time 5 "$URL/readyz" || fail "the gateway at $URL is not ready (/readyz)"
pass "gateway $URL answers /readyz"

# call METHOD PATH TOKEN [BODY]: prints the body, then the status code on a line of its own.
call() {
  local method=$1 path=$2 token=$3 body=${4:-}
  local args=(-sS --max-time 30 -X "$method" -H "Authorization: Bearer $token" -w '\n%{http_code}')
  if [ -n "$body" ]; then
    args+=(-H 'Content-Type: application/json' --data "$body")
  fi
  curl "${args[@]}" "$URL$path"
}
# expect STATUS ANSWER: fails unless the answer's last line is STATUS; prints the body.
expect() {
  local status=$1 answer=$2
  local got=${answer##*$'\n'}
  if [ "$got" != "$status" ]; then
    fail "expected HTTP $status, got $got: ${answer%$'\n'*}"
  fi
  printf '%s' "${answer%$'\n'*}"
}
# field PATH: one field of the JSON on stdin, by dotted path (list items by index).
field() {
  "$PYTHON" -c '
import json, sys
value = json.load(sys.stdin)
for part in sys.argv[1].split("."):
    value = value[int(part)] if isinstance(value, list) else value[part]
print(json.dumps(value) if isinstance(value, (bool, dict, list)) or value is None else value)
' "$1"
}
# with_check_digit DIGITS: DIGITS and their GS1 check digit.
with_check_digit() {
  local body=$1 sum=0 weight=3 i
  for ((i = ${#body} - 1; i >= 0; i--)); do
    sum=$((sum + ${body:i:1} * weight))
    weight=$((4 - weight))
  done
  printf '%s%s' "$body" $(((10 - sum % 10) % 10))
}

if [ -n "${VERINET_TOKEN:-}" ]; then
  ADMIN=$VERINET_TOKEN
else
  # A throwaway admin, made where REDIS_URL is: in the gateway pod.
  ADMIN=$(kube -n "$NS" exec deploy/gateway -- python -c '
import asyncio, datetime as dt, os
from verinet.partners import NewPartner, PartnerStore
from verinet.store import connect
async def main() -> None:
    redis = connect(os.environ["REDIS_URL"])
    try:
        _, token = await PartnerStore(redis).create(NewPartner(name="smoke test admin", roles=["admin"]), dt.datetime.now(dt.UTC))
        print(token)
    finally:
        await redis.aclose()
asyncio.run(main())
') || fail "could not make a throwaway admin in the gateway pod"
  admin_id=$(expect 200 "$(call GET /v1/partners/me "$ADMIN")" | field id)
fi
pass "admin token accepted"

# --- the checks -------------------------------------------------------------------------------

run_id=$(printf '%07d' $(((RANDOM * 32768 + RANDOM) % 10000000)))  # 7 digits, never 8
prefix="09${run_id}"
mfr_gln=$(with_check_digit "${prefix}000")
dsp_gln=$(with_check_digit "08${run_id}001")
gtin=$(with_check_digit "0${prefix}001")
lot="SMOKE${run_id}"
serial="S${run_id}"
expiry="$(printf '%02d' $((10#$(date -u +%y) + 2)))1231"

answer=$(expect 201 "$(call POST /v1/partners "$ADMIN" "{\"name\":\"smoke manufacturer $run_id\",\"roles\":[\"manufacturer\"],\"glns\":[\"$mfr_gln\"],\"company_prefixes\":[\"$prefix\"]}")")
made_partners+=("$(printf '%s' "$answer" | field id)")
MFR=$(printf '%s' "$answer" | field token)
answer=$(expect 201 "$(call POST /v1/partners "$ADMIN" "{\"name\":\"smoke dispenser $run_id\",\"roles\":[\"dispenser\"],\"glns\":[\"$dsp_gln\"]}")")
made_partners+=("$(printf '%s' "$answer" | field id)")
DSP=$(printf '%s' "$answer" | field token)
pass "partners made: manufacturer with prefix $prefix, dispenser $dsp_gln"

status=$(call PUT "/v1/products/$gtin" "$MFR" '{"name":"smoke test product"}')
status=${status##*$'\n'}
[ "$status" = 200 ] || [ "$status" = 201 ] || fail "registering product $gtin answered HTTP $status"
pack="{\"gtin\":\"$gtin\",\"serial\":\"$serial\",\"lot\":\"$lot\",\"expiry\":\"$expiry\"}"
refused=$(expect 200 "$(call POST /v1/packs/commission "$MFR" "{\"packs\":[$pack]}")" | field refused)
[ "$refused" = 0 ] || [ "$refused" = "[]" ] || fail "commissioning refused the pack: $refused"
pass "product $gtin registered and pack $serial commissioned"

lms=$(expect 200 "$(call GET "/verify/gtin/$gtin/lot/$lot/ser/$serial?exp=$expiry&linkType=verificationService&context=dscsaSaleableReturn&reqGLN=$dsp_gln&corrUUID=21EC2020-3AEA-4069-A2DD-08002B30309D" "$DSP")")
[ "$(printf '%s' "$lms" | field data.verified)" = true ] || fail "LMS answered $lms, expected verified true"
pass "LMS verify: verified true for $gtin/$lot/$serial"

packs=$(expect 200 "$(call POST /v1/packs/verify "$DSP" "{\"packs\":[$pack]}")")
[ "$(printf '%s' "$packs" | field ok)" = 1 ] || fail "pack verify answered $packs, expected 1 ok"
pass "pack operation (verify): 1 of 1 ok"

drill=$(expect 201 "$(call POST /v1/recalls "$MFR" "{\"gtins\":[\"$gtin\"],\"lots\":[\"$lot\"],\"class\":\"III\",\"reason\":\"smoke test drill\",\"mock\":true}")")
[ "$(printf '%s' "$drill" | field mock)" = true ] || fail "the recall drill was not a mock: $drill"
[ "$(printf '%s' "$drill" | field units)" = 1 ] || fail "the recall drill found $(printf '%s' "$drill" | field units) units, expected 1"
recall_id=$(printf '%s' "$drill" | field id)
expect 200 "$(call GET "/v1/recalls/$recall_id" "$MFR")" >/dev/null
expect 200 "$(call GET "/v1/recalls/$recall_id/report" "$MFR")" >/dev/null
pass "recall drill $recall_id: 1 unit in scope, recall and report readable"

printf 'smoke test of overlay %s in namespace %s: %d checks passed\n' "$OVERLAY" "$NS" "$checked"
