#!/usr/bin/env bash
# Smoke checks of the behaviours fhir-adapter's client tests rely on, with curl, against a running server:
#   servers/hapi/smoke-check.sh http://127.0.0.1:PORT/fhir R5|R4
# Starts by resetting the server ($expunge everything), so run it only against a throw-away test server.
# Prints one PASS/FAIL line per check; exits 1 if any check failed.
set -uo pipefail
B=${1:?base URL, e.g. http://127.0.0.1:8080/fhir}
V=${2:?R5 or R4}
CT='Content-Type: application/fhir+json'
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "PASS  $*"; }
ko() {
	echo "FAIL  $*"
	fails=$((fails + 1))
}
check() { # check DESCRIPTION PYTHON-EXPR-ON-j(json)-and-s(status)  < response file set by req
	local desc=$1 expr=$2
	if python3 - "$tmp/body" "$tmp/status" "$expr" <<'EOF'; then ok "$desc"; else ko "$desc (status $(cat "$tmp/status")): $(head -c 300 "$tmp/body")"; fi
import json, sys
body = open(sys.argv[1]).read()
s = int(open(sys.argv[2]).read() or 0)
try:
    j = json.loads(body) if body.strip() else {}
except ValueError:
    j = {}
def ids(b): return sorted(e["resource"]["id"] for e in b.get("entry", []) if e.get("search", {}).get("mode", "match") == "match")
def nct(b): return sorted(i["value"] for e in b.get("entry", []) if e["resource"]["resourceType"] == "ResearchStudy" for i in e["resource"].get("identifier", []))
sys.exit(0 if eval(sys.argv[3]) else 1)
EOF
}
req() { # req METHOD PATH [DATA-FILE] ; leaves body in $tmp/body, status in $tmp/status, headers in $tmp/head
	local m=$1 p=$2 d=${3:-}
	local url=$p
	[[ $p == http* ]] || url=$B/$p
	if [[ -n $d ]]; then
		curl -s -g -X "$m" -H "$CT" --data-binary "@$d" -D "$tmp/head" -o "$tmp/body" -w '%{http_code}' "$url" >"$tmp/status"
	else
		curl -s -g -X "$m" -D "$tmp/head" -o "$tmp/body" -w '%{http_code}' "$url" >"$tmp/status"
	fi
}
json() {
	python3 -c "import json
j = json.load(open('$tmp/body'))
def nct(b): return sorted(i['value'] for e in b.get('entry', []) if e['resource']['resourceType'] == 'ResearchStudy' for i in e['resource'].get('identifier', []))
print($1)"
}

if [[ $V == R5 ]]; then
	FV=5.0.0
	STATUS=active            # R5 ResearchStudy.status is the publication status
	ELIG='"recruitment":{"eligibility":{"reference":"urn:uuid:33333333-3333-4333-8333-333333333333"}},'
else
	FV=4.0.1
	STATUS=active            # R4 ResearchStudy.status is the study status (active, completed, ...)
	ELIG=''
fi

# ---------------------------------------------------------------- reset
cat >"$tmp/expunge.json" <<'EOF'
{"resourceType":"Parameters","parameter":[{"name":"expungeEverything","valueBoolean":true}]}
EOF
req POST '$expunge' "$tmp/expunge.json"
check "reset: POST /\$expunge expungeEverything=true" 's == 200'

# ---------------------------------------------------------------- metadata
req GET metadata
check "metadata: CapabilityStatement fhirVersion $FV" "j.get('resourceType') == 'CapabilityStatement' and j.get('fhirVersion') == '$FV'"

# ---------------------------------------------------------------- CRUD
echo '{"resourceType":"Organization","name":"Org A"}' >"$tmp/org.json"
req POST Organization "$tmp/org.json"
check "create: POST Organization -> 201" 's == 201 and j.get("meta", {}).get("versionId") == "1"'
oid=$(json 'j["id"]')
req GET "Organization/$oid"
check "read: GET Organization/id -> 200" 's == 200 and j["name"] == "Org A"'
echo "{\"resourceType\":\"Organization\",\"id\":\"$oid\",\"name\":\"Org B\"}" >"$tmp/org2.json"
req PUT "Organization/$oid" "$tmp/org2.json"
check "update: PUT Organization/id -> 200, versionId 2" 's == 200 and j["meta"]["versionId"] == "2"'
echo '{"resourceType":"Organization","id":"my-client-id-1","name":"Client id"}' >"$tmp/org3.json"
req PUT "Organization/my-client-id-1" "$tmp/org3.json"
check "update-as-create with a client id (client_id_strategy ANY) -> 201" 's == 201'
echo '{"resourceType":"Organization","id":"12345","name":"Numeric client id"}' >"$tmp/org4.json"
req PUT "Organization/12345" "$tmp/org4.json"
check "update-as-create with a numeric client id -> 201" 's == 201'
req DELETE "Organization/$oid"
check "delete: DELETE Organization/id -> 200" 's in (200, 204)'
req GET "Organization/$oid"
check "read after delete -> 410 Gone with OperationOutcome" 's == 410 and j.get("resourceType") == "OperationOutcome"'

# ---------------------------------------------------------------- conditional update
IDQ='identifier=https%3A%2F%2Fclinicaltrials.gov%7CNCT01234567'
rs() { # rs NCT TITLE STATUS PHASE CONDCODE CONDTEXT
	cat <<EOF
{"resourceType":"ResearchStudy","identifier":[{"system":"https://clinicaltrials.gov","value":"$1"}],"title":"$2","status":"$3",
 "phase":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/research-study-phase","code":"$4"}]},
 "condition":[{"coding":[{"system":"http://snomed.info/sct","code":"$5"}],"text":"$6"}]}
EOF
}
rs NCT01234567 "Study X" $STATUS phase-2 44054006 "Type 2 Diabetes" >"$tmp/rs1.json"
req PUT "ResearchStudy?$IDQ" "$tmp/rs1.json"
check "conditional PUT ResearchStudy?identifier=... (absent) -> 201 created, v1" 's == 201 and j["meta"]["versionId"] == "1"'
rid=$(json 'j["id"]')
req PUT "ResearchStudy?$IDQ" "$tmp/rs1.json"
check "conditional PUT, identical content -> 200, still v1 (no-op update suppressed)" "s == 200 and j['meta']['versionId'] == '1' and j['id'] == '$rid'"
rs NCT01234567 "Study X changed" $STATUS phase-2 44054006 "Type 2 Diabetes" >"$tmp/rs1b.json"
req PUT "ResearchStudy?$IDQ" "$tmp/rs1b.json"
check "conditional PUT, changed content -> 200, v2, same id" "s == 200 and j['meta']['versionId'] == '2' and j['id'] == '$rid'"
req GET "ResearchStudy/$rid/_history"
check "history: 2 versions" 'j.get("total") == 2'

# ---------------------------------------------------------------- patch
echo '[{"op":"replace","path":"/title","value":"Study X json-patched"}]' >"$tmp/jsonpatch.json"
curl -s -X PATCH -H 'Content-Type: application/json-patch+json' --data-binary "@$tmp/jsonpatch.json" \
	-o "$tmp/body" -w '%{http_code}' "$B/ResearchStudy/$rid" >"$tmp/status"
check "PATCH (JSON Patch) -> 200, v3" 's == 200 and j["meta"]["versionId"] == "3" and j["title"] == "Study X json-patched"'
cat >"$tmp/fhirpatch.json" <<'EOF2'
{"resourceType":"Parameters","parameter":[{"name":"operation","part":[
 {"name":"type","valueCode":"replace"},{"name":"path","valueString":"ResearchStudy.title"},
 {"name":"value","valueString":"Study X fhirpath-patched"}]}]}
EOF2
curl -s -X PATCH -H "$CT" --data-binary "@$tmp/fhirpatch.json" -o "$tmp/body" -w '%{http_code}' "$B/ResearchStudy/$rid" >"$tmp/status"
check "PATCH (FHIRPath Patch) -> 200, v4" 's == 200 and j["meta"]["versionId"] == "4" and j["title"] == "Study X fhirpath-patched"'
req PUT "ResearchStudy?$IDQ" "$tmp/rs1b.json"
check "conditional PUT after patches -> v5" "s == 200 and j['meta']['versionId'] == '5'"

# ---------------------------------------------------------------- transaction with urn:uuid + conditional PUTs
PD_URL=http://example.org/fhir-adapter/PlanDefinition/NCT07654321
EV_URL=http://example.org/fhir-adapter/EvidenceVariable/NCT07654321
cat >"$tmp/tx.json" <<EOF
{"resourceType":"Bundle","type":"transaction","entry":[
 {"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111",
  "resource":{"resourceType":"ResearchStudy","identifier":[{"system":"https://clinicaltrials.gov","value":"NCT07654321"}],
   "title":"Tx study","status":"$STATUS",$ELIG
   "phase":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/research-study-phase","code":"phase-3"}]},
   "condition":[{"coding":[{"system":"http://snomed.info/sct","code":"254637007"}],"text":"Non-small cell lung cancer"}],
   "protocol":[{"reference":"urn:uuid:22222222-2222-4222-8222-222222222222"}],
   "site":[{"reference":"http://other.example.org/fhir/Location/1"}]},
  "request":{"method":"PUT","url":"ResearchStudy?identifier=https%3A%2F%2Fclinicaltrials.gov%7CNCT07654321"}},
 {"fullUrl":"urn:uuid:22222222-2222-4222-8222-222222222222",
  "resource":{"resourceType":"PlanDefinition","url":"$PD_URL","status":"active","title":"Arms"},
  "request":{"method":"PUT","url":"PlanDefinition?url=$PD_URL"}},
 {"fullUrl":"urn:uuid:33333333-3333-4333-8333-333333333333",
  "resource":{"resourceType":"EvidenceVariable","url":"$EV_URL","status":"active","name":"Eligibility",
   "characteristic":[{"description":"Age >= 18"}]},
  "request":{"method":"PUT","url":"EvidenceVariable?url=$EV_URL"}}
]}
EOF
req POST "" "$tmp/tx.json"
check "transaction (urn:uuid fullUrls, conditional PUTs) -> 200, 3 x 201" 's == 200 and j["type"] == "transaction-response" and [e["response"]["status"][:3] for e in j["entry"]] == ["201"] * 3'
req GET "ResearchStudy?identifier=NCT07654321"
check "transaction rewrote urn:uuid protocol reference to PlanDefinition/<id>" 'j["entry"][0]["resource"]["protocol"][0]["reference"].startswith("PlanDefinition/")'
check "external reference (site on another server) stored as-is" 'j["entry"][0]["resource"]["site"][0]["reference"] == "http://other.example.org/fhir/Location/1"'
req POST "" "$tmp/tx.json"
check "same transaction again -> 200, 3 x 200, versions unchanged" 's == 200 and [e["response"]["status"][:3] for e in j["entry"]] == ["200"] * 3 and all(e["response"]["etag"] in ("1", "W/\"1\"") for e in j["entry"])'

# ---------------------------------------------------------------- batch
cat >"$tmp/batch.json" <<EOF
{"resourceType":"Bundle","type":"batch","entry":[
 {"request":{"method":"GET","url":"ResearchStudy?identifier=NCT07654321"}},
 {"request":{"method":"GET","url":"ResearchStudy/does-not-exist"}},
 {"resource":{"resourceType":"Organization","name":"Batch org"},"request":{"method":"POST","url":"Organization"}}
]}
EOF
req POST "" "$tmp/batch.json"
check "batch -> 200, per-entry statuses 200/404/201" 's == 200 and j["type"] == "batch-response" and [e["response"]["status"][:3] for e in j["entry"]] == ["200", "404", "201"]'

# ---------------------------------------------------------------- searches
for n in 1 2 3 4 5; do
	rs NCT0000000$n "Paging $n" $STATUS phase-1 73211009 "Diabetes mellitus" >"$tmp/p$n.json"
	req PUT "ResearchStudy?identifier=https%3A%2F%2Fclinicaltrials.gov%7CNCT0000000$n" "$tmp/p$n.json"
done
req GET "ResearchStudy?identifier=https://clinicaltrials.gov|NCT07654321"
check "search identifier=system|value" 'nct(j) == ["NCT07654321"]'
req GET "ResearchStudy?identifier=NCT07654321,NCT00000001"
check "search identifier=v1,v2 (OR)" 'nct(j) == ["NCT00000001", "NCT07654321"]'
req GET "ResearchStudy?condition=http://snomed.info/sct|254637007"
check "search condition=system|code (token)" 'nct(j) == ["NCT07654321"]'
req GET "ResearchStudy?condition:text=non-small"
check "search condition:text=non-small (prefix of CodeableConcept.text, case-insensitive)" 'nct(j) == ["NCT07654321"]'
req GET "ResearchStudy?condition:text=lung"
check "search condition:text=lung -> none (without Lucene, :text is a prefix match on the whole text)" 'nct(j) == []'
req GET "ResearchStudy?phase=phase-3"
check "search phase=phase-3" 'nct(j) == ["NCT07654321"]'
req GET "ResearchStudy?phase=http://terminology.hl7.org/CodeSystem/research-study-phase|phase-1&_count=100"
check "search phase=system|phase-1" 'len(nct(j)) == 5'
req GET "ResearchStudy?status=$STATUS&_summary=count"
check "search status=$STATUS" 'j.get("total") == 7'
req GET "ResearchStudy?_lastUpdated=gt2000-01-01&_summary=count"
check "search _lastUpdated=gt2000-01-01" 'j.get("total") == 7'
req GET "ResearchStudy?_lastUpdated=gt2100-01-01&_summary=count"
check "search _lastUpdated=gt2100-01-01 -> none" 'j.get("total") == 0'
req GET "ResearchStudy?identifier=NCT07654321&_include=ResearchStudy:protocol"
check "search _include=ResearchStudy:protocol" 'sorted(e["resource"]["resourceType"] + ":" + e["search"]["mode"] for e in j["entry"]) == ["PlanDefinition:include", "ResearchStudy:match"]'
req GET "ResearchStudy?phase=phase-1&_count=2&_sort=_id"
seen=$(json '",".join(nct(j))')
next=$(json 'next((l["url"] for l in j.get("link", []) if l["relation"] == "next"), "")')
pages=1
while [[ -n $next ]]; do
	req GET "$next"
	seen="$seen,$(json '",".join(nct(j))')"
	next=$(json 'next((l["url"] for l in j.get("link", []) if l["relation"] == "next"), "")')
	pages=$((pages + 1))
done
if [[ $pages == 3 && $(tr ',' '\n' <<<"$seen" | sort -u | grep -c NCT) == 5 ]]; then ok "paging: _count=2 -> 3 pages via next links, 5 distinct studies"; else ko "paging: pages=$pages seen=$seen"; fi
req GET "EvidenceVariable?url=$EV_URL"
check "search EvidenceVariable?url=..." 'j.get("total") == 1'
req GET "PlanDefinition?url=$PD_URL"
check "search PlanDefinition?url=..." 'j.get("total") == 1'

# ---------------------------------------------------------------- errors -> OperationOutcome
req GET "ResearchStudy/does-not-exist"
check "read unknown id -> 404 OperationOutcome" 's == 404 and j.get("resourceType") == "OperationOutcome"'
echo '{"resourceType":"ResearchStudy", "status": ' >"$tmp/bad.json"
req POST ResearchStudy "$tmp/bad.json"
check "malformed JSON -> 400 OperationOutcome" 's == 400 and j.get("resourceType") == "OperationOutcome"'
req GET "ResearchStudy?no-such-param=1"
check "unknown search parameter -> 400 OperationOutcome" 's == 400 and j.get("resourceType") == "OperationOutcome"'
echo '{"resourceType":"ResearchStudy","status":"active","protocol":[{"reference":"PlanDefinition/missing"}]}' >"$tmp/dangling.json"
req POST ResearchStudy "$tmp/dangling.json"
check "reference to a missing local resource -> 400/404 OperationOutcome" 's in (400, 404) and j.get("resourceType") == "OperationOutcome"'
cat >"$tmp/badtx.json" <<EOF
{"resourceType":"Bundle","type":"transaction","entry":[
 {"resource":{"resourceType":"Organization","name":"rolled back"},"request":{"method":"POST","url":"Organization"}},
 {"resource":{"resourceType":"ResearchStudy","status":"active","protocol":[{"reference":"PlanDefinition/missing"}]},
  "request":{"method":"POST","url":"ResearchStudy"}}]}
EOF
req POST "" "$tmp/badtx.json"
check "failing transaction -> 4xx OperationOutcome" 's >= 400 and j.get("resourceType") == "OperationOutcome"'
req GET "Organization?name=rolled&_summary=count"
check "failing transaction rolled back (nothing created)" 'j.get("total") == 0'
echo '{"resourceType":"Organization","name":"x"}' >"$tmp/o5.json"
curl -s -o "$tmp/body" -w '%{http_code}' -X PUT -H "$CT" -H 'If-Match: W/"7"' --data-binary "@$tmp/org3.json" "$B/Organization/my-client-id-1" >"$tmp/status"
check "PUT with stale If-Match -> 409/412 OperationOutcome" 's in (409, 412) and j.get("resourceType") == "OperationOutcome"'

# ---------------------------------------------------------------- deletes and reset
req DELETE "ResearchStudy?identifier=NCT00000001,NCT00000002"
check "conditional DELETE matching 2 (allow_multiple_delete) -> 200" 's == 200'
req GET "ResearchStudy?_summary=count"
check "5 studies left" 'j.get("total") == 5'
req DELETE "ResearchStudy?identifier=NCT00000003&_expunge=true"
check "conditional DELETE with _expunge=true -> 200 (a batch job is submitted)" 's == 200'
for i in $(seq 1 30); do
	req GET "ResearchStudy?identifier=NCT00000003&_summary=count"
	[[ $(json 'j.get("total")') == 0 ]] && break
	sleep 1
done
check "... and the job has deleted and expunged it after ${i} s" 'j.get("total") == 0'
req POST '$expunge' "$tmp/expunge.json"
check "reset: POST /\$expunge expungeEverything=true -> 200" 's == 200'
req GET "ResearchStudy?_summary=count"
check "after reset: 0 ResearchStudy" 'j.get("total") == 0'
req GET "Organization?_summary=count"
check "after reset: 0 Organization" 'j.get("total") == 0'
req PUT "ResearchStudy?$IDQ" "$tmp/rs1.json"
check "after reset: conditional PUT creates again (v1)" 's == 201 and j["meta"]["versionId"] == "1"'
req POST '$expunge' "$tmp/expunge.json"

echo "---- $V: $fails failed"
[[ $fails == 0 ]]
