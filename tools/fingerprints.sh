#!/usr/bin/env bash
# Speed work must never change a fingerprint. `tools/fingerprints.sh record FILE` runs every
# built-in scenario at seeds 1 and 2 through the CLI (`ulp run NAME --seed S --json`) and keeps
# each run's fingerprint, simTimeNs and results, one JSON line per run; `tools/fingerprints.sh
# check FILE` runs them again and compares byte for byte (exit 1 and a diff on any difference).
# Optional: SCENARIOS="hello raw-ethernet" to restrict (check compares only those lines).
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}; file=${2:-}
if [ "$mode" != record ] && [ "$mode" != check ] || [ -z "$file" ]; then
  echo "usage: tools/fingerprints.sh record|check FILE" >&2; exit 2
fi
names=${SCENARIOS:-$(node bin/ulp.js scenarios --json | node -e 'const s=JSON.parse(require("fs").readFileSync(0,"utf8"));console.log(s.map((x)=>x.name).join(" "))')}
out=$(mktemp)
for n in $names; do
  for s in 1 2; do
    node bin/ulp.js run "$n" --seed "$s" --json \
      | node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8"));console.log(JSON.stringify({scenario:r.scenario,seed:r.seed,fingerprint:r.fingerprint,simTimeNs:r.simTimeNs,results:r.results}))' >>"$out" \
      || echo "{\"scenario\":\"$n\",\"seed\":$s,\"failed\":true}" >>"$out"
  done
done
if [ "$mode" = record ]; then
  mv "$out" "$file"; echo "recorded $(wc -l <"$file") runs into $file"; exit 0
fi
want=$(mktemp)
for n in $names; do grep -F "{\"scenario\":\"$n\"," "$file" >>"$want"; done
if cmp -s "$want" "$out"; then echo "fingerprints: $(wc -l <"$out") runs identical"; rm -f "$out" "$want"; exit 0; fi
echo "fingerprints: DIFFERENT" >&2; diff "$want" "$out" | cut -c1-300 >&2; rm -f "$out" "$want"; exit 1
