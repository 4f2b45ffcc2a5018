#!/usr/bin/env bash
# Bounded load test of Captum Insights on the loopback address. Opt-in, NOT part of the test suite: run it on a quiet
# machine (nothing else building or testing) and put its figures in docs/insights.md.
#
#   scripts/insights-load.sh [--requests N=200] [--concurrency 8] [--time-limit 600] [--steps 30] [--method layer-ig]
#
# Starts `captum insights` on 127.0.0.1 (a free port), warms it up with twice as many requests as the server keeps
# finished runs (its runsKept, 32 by default: so "before" already holds a full run store), then sends --requests (N)
# explanation requests of the scenes examples, --concurrency at a time, then 4N more, and stops by itself when all are
# answered or --time-limit seconds have passed (the rest are counted as not sent). Reports for the first N and for all
# 5N the throughput, p50/p95/max latency and status counts (503s are the queue's deliberate refusals; anything else but
# 200 is an error), and the server's resident memory after the warm-up, after N and after 5N requests: a server that
# does not grow ends the 5N near where it ended the N.
# Only 127.0.0.1 is ever contacted; the server it started is stopped at the end.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

requests=200; concurrency=8; time_limit=600; steps=30; method=layer-ig
while [ $# -gt 0 ]; do
  case "$1" in
    --requests) requests=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --time-limit) time_limit=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --method) method=$2; shift 2 ;;
    *) echo "insights-load: unknown option $1" >&2; exit 1 ;;
  esac
done

dotnet build "$ROOT/src/Captum.Cli/Captum.Cli.csproj" -c "$CONFIGURATION" -nologo -v quiet >/dev/null
log=$(mktemp)
dotnet "$ROOT/src/Captum.Cli/bin/$CONFIGURATION/net10.0/captum.dll" insights --port 0 --queue $((concurrency * 2)) >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -f "$log"' EXIT

url=""
for _ in $(seq 1 120); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$log" || true)
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.5
done
[ -n "$url" ] || { echo "insights-load: the server did not start" >&2; cat "$log" >&2; exit 1; }

python3 - "$url" "$server" "$requests" "$concurrency" "$time_limit" "$steps" "$method" <<'PY'
import json, sys, time, uuid, urllib.request, urllib.error
from concurrent.futures import ThreadPoolExecutor

url, pid, total, concurrency, limit, steps, method = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6], sys.argv[7]
assert url.startswith("http://127.0.0.1:")

def rss_mib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")

def get(path):
    with urllib.request.urlopen(url + path, timeout=120) as r:
        return json.load(r)

def explain(example, model):
    boundary = uuid.uuid4().hex
    fields = [("model", model), ("example", str(example)), ("method", method), ("steps", steps)]
    body = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields) + f"--{boundary}--\r\n"
    request = urllib.request.Request(url + "api/explain", data=body.encode(), method="POST", headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    start = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=limit) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    except Exception:
        status = -1
    return status, time.monotonic() - start

info = get("api/models")
first = info["models"][0]
model = first["name"]
offered = [m["name"] for m in first.get("methods", [])]
if offered and method not in offered:
    print(f"insights-load: --method {method} is not offered; the server offers {', '.join(offered)}", file=sys.stderr)
    sys.exit(2)
count = get(f"api/models/{model}/examples")["total"]
warmup = max(2 * info["limits"]["runsKept"], concurrency)
with ThreadPoolExecutor(max_workers=concurrency) as pool:
    list(pool.map(lambda i: explain(i % count, model), range(warmup)))
before = rss_mib()

deadline = time.monotonic() + limit
def one(i):
    if time.monotonic() > deadline:
        return None
    return explain(i % count, model)

def phase(first, n):
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, range(first, first + n)))
    return results, time.monotonic() - start

print(f"model {model}, method {method}, steps {steps}, {total} + {4 * total} requests, {concurrency} concurrent, after {warmup} to warm up, time limit {limit:.0f} s")
def report(label, results, wall):
    sent = [r for r in results if r is not None]
    ok = sorted(t for s, t in sent if s == 200)
    refused = sum(1 for s, _ in sent if s == 503)
    errors = sum(1 for s, _ in sent if s not in (200, 503))
    def pct(p):
        return ok[min(len(ok) - 1, int(round(p / 100 * (len(ok) - 1))))] if ok else float("nan")
    print(f"{label}: sent {len(sent)}, not sent (time limit) {len(results) - len(sent)}, ok {len(ok)}, 503 {refused}, errors {errors}; "
          f"wall {wall:.1f} s, throughput {len(ok) / wall:.2f} req/s, latency p50 {pct(50):.3f} s, p95 {pct(95):.3f} s, max {(ok[-1] if ok else float('nan')):.3f} s")
    return errors

first, wall1 = phase(0, total)
after_n = rss_mib()
rest, wall2 = phase(total, 4 * total)
after_5n = rss_mib()
report(f"first {total}", first, wall1)
errors = report(f"all {5 * total}", first + rest, wall1 + wall2)
print(f"server memory (RSS) after the warm-up {before:.0f} MiB, after {total} requests {after_n:.0f} MiB, after {5 * total} {after_5n:.0f} MiB")
sys.exit(1 if errors else 0)
PY
