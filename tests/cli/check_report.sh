#!/usr/bin/env bash
# The HTML report (--report=FILE) through the command line, rendered in headless Chromium: the page's script
# must run without an error and draw what the embedded JSON holds (one bar per layer shown, one precision-mix
# segment per precision, the latency histogram's bins with its median and p99 marks, the tables), layer names
# must stay text, and the screenshot must decode and show the precision colours.
# Usage: tests/cli/check_report.sh path/to/lowp SCRATCH_DIR
# Without chromium the reports are still written and their embedded JSON checked, and the rendering is
# skipped (SKIP); where the environment variable CI is set, a missing chromium is a failure.
set -uo pipefail
lowp=$(realpath "$1")
mkdir -p "$2" && work=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=/usr/bin/python3

passed=0
failed=0
# expect NAME CMD... : exit 0, else the output is shown
expect() {
  local name=$1; shift
  if out=$("$@" 2>&1); then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "FAIL $name"; echo "$out" | sed 's/^/    /'
  fi
}

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ] && [ -n "${CI:-}" ]; then
  echo "report: FAIL: chromium is not installed (scripts/install-deps.sh installs it) and CI is set"
  exit 1
fi

# The checker: check_page REPORT.html [DOM.html [SCREENSHOT.png]] [--execution-order] [--expect-error]
# [--long-page] reads the report's embedded JSON and compares what the page drew (the DOM after its script
# ran) with it; --long-page: the engines lie below the screenshot, whose precision colours are not checked.
read -r -d '' checker <<'PYTHON'
import json, math, re, sys
from html.parser import HTMLParser

args = [a for a in sys.argv[1:] if not a.startswith("--")]
execution_order = "--execution-order" in sys.argv
expect_error = "--expect-error" in sys.argv
TOP_LAYERS = 30
COLORS = {"fp32": "#4e79a7", "tf32": "#76b7b2", "fp16": "#f28e2b", "bf16": "#59a14f", "int8": "#e15759",
          "uint8": "#ff9da7"}

def fail(message):
    sys.exit("report check: " + message)

page = open(args[0], encoding="utf-8").read()
m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
if not m:
    fail("no embedded report data in " + args[0])
if "<" in m.group(1):
    fail("the embedded JSON holds a raw '<'")
if not expect_error:
    report = json.loads(m.group(1))
if len(args) < 2:
    sys.exit(0)

class Dom(HTMLParser):
    """The elements of the page in document order, with their attributes and text."""
    def __init__(self):
        super().__init__()
        self.elements, self.stack, self.texts = [], [], []
    def handle_starttag(self, tag, attrs):
        node = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(node)
        if tag not in ("rect", "line", "path", "meta", "br", "link"):
            self.stack.append(node)
    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()["tag"] == tag:
                break
    def handle_data(self, data):
        if self.stack and self.stack[-1]["tag"] not in ("script", "style"):
            self.stack[-1]["text"] += data
            self.texts.append(data)

dom = Dom()
dom.feed(open(args[1], encoding="utf-8").read())
els = dom.elements
classed = lambda cls: [e for e in els if cls in e["attrs"].get("class", "").split()]
errors = [e for e in els if e["attrs"].get("id") == "js-errors"]
if expect_error:
    if not errors or "Report script error" not in "".join(dom.texts):
        fail("a broken page shows no error box")
else:
    if errors:
        fail("the page's script failed: " + " ".join(t for t in dom.texts if "error" in t.lower())[:500])
    body = [e for e in els if e["tag"] == "body"]
    if not body or body[0]["attrs"].get("data-rendered") != "true":
        fail("the page's script did not finish")
    if [e for e in els if e["attrs"].get("id", "").startswith("injected")]:
        fail("a string from the report became markup")

    headings = [e["text"] for e in els if e["tag"] == "h2"]
    for t in report.get("tables", []):
        if t["title"] not in headings:
            fail("table '%s' not shown" % t["title"])
    if "findings" in report and "Findings" not in headings:
        fail("findings not shown")
    if "layerErrors" in report and not any(h.startswith("Per-layer error") for h in headings):
        fail("per-layer errors not shown")
    facts_rows = [e for e in els if e["tag"] == "tr"]
    if report.get("facts") and len(facts_rows) < len(report["facts"]):
        fail("facts not shown")
    text = "\n".join(dom.texts)

    # Per engine, in order: the elements drawn inside its <section class="engine">.
    sections, current = [], None
    for e in els:
        if e["tag"] == "section" and "engine" in e["attrs"].get("class", ""):
            current = {"bars": [], "mix": [], "bins": [], "marks": []}
            sections.append(current)
        elif current is not None:
            c = e["attrs"].get("class", "").split()
            for key, cls in (("bars", "layer-bar"), ("mix", "mix-segment"), ("bins", "hist-bin"),
                             ("marks", "hist-marker")):
                if cls in c:
                    current[key].append(e["attrs"])
    engines = report.get("engines", [])
    if len(sections) != len(engines):
        fail("%d engine sections drawn for %d engines" % (len(sections), len(engines)))
    for engine, drawn in zip(engines, sections):
        layers, latency = engine["layers"], engine["latencyMs"]
        n = len(layers)
        ms = [l["timeMs"] if isinstance(l["timeMs"], (int, float)) else 0 for l in layers]
        shown = n if execution_order or n <= TOP_LAYERS else TOP_LAYERS + 1
        if len(drawn["bars"]) != shown:
            fail("%s: %d layer bars drawn, %d expected" % (engine["label"], len(drawn["bars"]), shown))
        precisions = [b["data-precision"] for b in drawn["bars"]]
        widths = [float(b["width"]) for b in drawn["bars"]]
        if execution_order:
            if precisions != [l["precision"] for l in layers]:
                fail("%s: bars not in execution order" % engine["label"])
        elif n:
            top = widths[:min(n, TOP_LAYERS)]
            if any(a < b - 1e-6 for a, b in zip(top, top[1:])):
                fail("%s: bars not sorted by time: %s" % (engine["label"], top))
            slowest = {l["precision"] for l, t in zip(layers, ms) if t == max(ms)}
            if precisions[0] not in slowest:
                fail("%s: the first bar is %s, the slowest layer runs in %s" %
                     (engine["label"], precisions[0], slowest))
        # Names shown: every layer in execution order; by time, those surely among the slowest (ties aside).
        cutoff = sorted(ms, reverse=True)[TOP_LAYERS] if n > TOP_LAYERS and not execution_order else -1
        for l, t in zip(layers, ms):
            if t > cutoff and l["name"] not in text:
                fail("layer name %r not shown as text" % l["name"])
        if n > TOP_LAYERS and not execution_order and "others (%d layers)" % (n - TOP_LAYERS) not in text:
            fail("%s: no 'others' row" % engine["label"])
        kinds = {l["precision"] for l in layers}
        if len(drawn["mix"]) != len(kinds) or {s["data-precision"] for s in drawn["mix"]} != kinds:
            fail("%s: precision mix segments %s, precisions %s" %
                 (engine["label"], [s["data-precision"] for s in drawn["mix"]], kinds))
        if n and abs(sum(float(s["width"]) for s in drawn["mix"]) - 1160) > 1:
            fail("%s: the precision mix does not fill its bar" % engine["label"])
        bins = min(40, max(5, math.ceil(math.sqrt(len(latency))))) if latency else 0
        if len(drawn["bins"]) != bins:
            fail("%s: %d histogram bins drawn, %d expected" % (engine["label"], len(drawn["bins"]), bins))
        if latency:
            # Bin heights in proportion to the counts of the same binning: [min, max] in equal bins.
            lo, hi = min(latency), max(latency)
            if hi - lo < 1e-9:
                lo, hi = lo - 0.01 * abs(lo) - 1e-6, hi + 0.01 * abs(hi) + 1e-6
            counts = [0] * bins
            for v in latency:
                counts[min(bins - 1, math.floor((v - lo) / (hi - lo) * bins))] += 1
            heights = [float(b["height"]) for b in drawn["bins"]]
            if any(abs(h - c / max(counts) * max(heights)) > 0.02 for h, c in zip(heights, counts)):
                fail("%s: histogram heights %s, counts %s" % (engine["label"], heights, counts))
        marks = sorted(m.get("data-marker") for m in drawn["marks"])
        if marks != (["median", "p99"] if latency else []):
            fail("%s: histogram marks %s" % (engine["label"], marks))

if len(args) < 3:
    sys.exit(0)
from PIL import Image
image = Image.open(args[2]).convert("RGB")
if image.size != (1280, 2000):
    fail("screenshot is %dx%d" % image.size)
counts = {}
for count, rgb in image.getcolors(1 << 24):
    counts["#%02x%02x%02x" % rgb] = count
want = {"#c62828"} if expect_error else set()
if not expect_error and "--long-page" not in sys.argv:
    # The precision mix bar is 30 px tall: a precision with a fifth of the time has thousands of pixels.
    for engine in report.get("engines", []):
        total = sum(l["timeMs"] for l in engine["layers"] if isinstance(l["timeMs"], (int, float)))
        for p in {l["precision"] for l in engine["layers"]}:
            t = sum(l["timeMs"] for l in engine["layers"]
                    if l["precision"] == p and isinstance(l["timeMs"], (int, float)))
            if p in COLORS and total > 0 and t / total > 0.05:
                want.add(COLORS[p])
for color in sorted(want):
    if counts.get(color, 0) < 200:
        fail("screenshot has %d pixels of %s" % (counts.get(color, 0), color))
if len(counts) < 20:
    fail("screenshot looks blank (%d colours)" % len(counts))
PYTHON

# render PAGE [FRAGMENT]: PAGE.dom.html (the DOM after the script ran) and PAGE.png, from a private profile.
render() {
  local page=$1 fragment=${2:-} profile url rc
  profile=$(mktemp -d "$work/chromium-profile.XXXXXX")
  url=$("$python" -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).as_uri() + sys.argv[2])' \
    "$page" "$fragment")
  local flags=(--headless --no-sandbox --disable-gpu --user-data-dir="$profile" --hide-scrollbars
               --force-color-profile=srgb "--window-size=1280,2000")
  timeout 120 "$chromium" "${flags[@]}" --dump-dom "$url" > "$page.dom.html" 2> "$page.chromium.log" &&
    timeout 120 "$chromium" "${flags[@]}" --screenshot="$page.png" "$url" >> "$page.chromium.log" 2>&1
  rc=$?
  rm -rf "$profile"
  [ $rc -eq 0 ] || { echo "chromium failed on $page (exit $rc):"; tail -5 "$page.chromium.log"; }
  return $rc
}

# check_page NAME PAGE [checker flags]: the embedded JSON, then (with chromium) the rendered page.
check_page() {
  local name=$1 page=$2; shift 2
  expect "$name: report written" test -s "$page"
  if [ -z "$chromium" ]; then
    expect "$name: embedded JSON" "$python" -c "$checker" "$page" "$@"
    return
  fi
  local fragment=""
  for flag in "$@"; do [ "$flag" = "--execution-order" ] && fragment="#execution-order"; done
  if render "$page" "$fragment"; then
    expect "$name: rendered" "$python" -c "$checker" "$page" "$page.dom.html" "$page.png" "$@"
  else
    failed=$((failed + 1)); echo "FAIL $name: chromium did not render the page"
  fi
}

cd "$work" || exit 1
quick=(--warmUp=20 --duration=0 --iterations=60)

# A model with more layers than the chart shows by name (an "others" row), in two precisions.
mobilenet=$repo/models/demo/mobilenet_v2_tiny.onnx
expect "exec --report" "$lowp" exec --onnx="$mobilenet" --bf16 --shapes=input:1x3x224x224 "${quick[@]}" \
  --saveEngine=mobilenet.engine --report=mobilenet.html
check_page "mobilenet bf16" "$work/mobilenet.html"
check_page "mobilenet bf16, execution order" "$work/mobilenet.html" --execution-order

# A loaded engine, profiled in a run of its own.
expect "exec --loadEngine --report" "$lowp" exec --loadEngine=mobilenet.engine --shapes=input:1x3x224x224 \
  "${quick[@]}" --separateProfileRun --report=loaded.html
check_page "loaded engine" "$work/loaded.html"

# Layer names that would be markup if the page wrote them as HTML, or close its data element.
expect "hostile names model" "$python" -c '
import onnx
from onnx import TensorProto, helper
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 16])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 16])
nodes = [helper.make_node("Relu", ["x"], ["r"], name="</script><b id=\"injected\">x</b><!--"),
         helper.make_node("Softmax", ["r"], ["y"], name="<img id=\"injected2\" src=x onerror=\"document.title=1\">")]
onnx.save(helper.make_model(helper.make_graph(nodes, "names", [x], [y]),
                            opset_imports=[helper.make_opsetid("", 17)]), "names.onnx")'
expect "exec --report, hostile names" "$lowp" exec --onnx=names.onnx "${quick[@]}" --report=names.html
check_page "hostile names" "$work/names.html"

# Every section the report format has (compare's and explain's too), on the page exec writes: many layers
# in four precisions, layers without a time, an engine without layers, one query, tables, per-layer errors,
# findings.
expect "page with every section" "$python" -c '
import json, random, re
rng = random.Random(5)
kinds = ["fp32", "fp16", "bf16", "int8"]
layers = [{"name": "/block%d/conv<%d>" % (i // 3, i), "op": "Conv", "precision": kinds[i % 4], "tactic": "t",
           "reason": "fastest", "timeMs": None if i % 17 == 0 else rng.uniform(0.01, 1.0), "measured": i % 5 != 0}
          for i in range(120)]
report = {
    "title": "every section",
    "facts": [["model", "m.onnx"], ["device", "cpu & <b>bold</b>"]],
    "tables": [{"title": "accuracy", "columns": ["engine", "top-1", "rel L2"],
                "rows": [["fp32", 0.761, 0.0], ["int8", 0.755, 0.0123]]},
               {"title": "batch sweep", "columns": ["batch", "speedup"], "rows": [[1, "1.20x"], [8, "1.85x"]]}],
    "engines": [{"label": "many layers", "layers": layers,
                 "latencyMs": [rng.lognormvariate(0, 0.2) for _ in range(500)]},
                {"label": "no layers", "layers": [], "latencyMs": []},
                {"label": "one query", "layers": [dict(layers[0], name="only")], "latencyMs": [1.5]}],
    "layerErrors": {"metric": "relative L2", "layers": [
        {"name": "/block1/conv<4>", "op": "Conv", "precision": "int8", "local": 0.01, "accumulated": 0.02}]},
    "findings": [{"check": "native arithmetic", "finding": "fp16 is storage only", "action": "use bf16",
                  "explainsMs": 1.25}],
}
data = json.dumps(report).replace("<", "\\u003c")
page = open("names.html", encoding="utf-8").read()
page = re.sub(r"(id=\"report-data\">).*?(</script>)", lambda m: m.group(1) + data + m.group(2), page, count=1,
              flags=re.S)
open("sections.html", "w", encoding="utf-8").write(page)'
check_page "every section" "$work/sections.html"

# The commands' own reports, and their JSON merged into one page by `lowp report` (as the demo does):
# compare --per-layer (tables, the engine, per-layer errors), explain (findings), precisions (tables, engines).
digits=$repo/models/digits
expect "compare --report" "$lowp" compare --onnx="$digits/digits.onnx" --int8 --calibData="$digits/calibration" \
  --calibAlgo=minmax --loadInputs=input:"$digits/calibration/batch_000.npy" --per-layer --atol=1 --rtol=1 \
  --exportJson=compare.json --report=compare.html
check_page "compare" "$work/compare.html"
expect "explain --report" "$lowp" explain --onnx="$digits/digits.onnx" --fp16 --shapes=input:8x1x20x20 \
  --batches=8 --duration=0.1 --exportJson=explain.json --report=explain.html
check_page "explain" "$work/explain.html"
expect "precisions --report" "$lowp" precisions --onnx="$digits/digits.onnx" --precisions=fp32,int8 \
  --calibData="$digits/calibration" --loadInputs=input:"$digits/calibration/batch_000.npy" --duration=0.1 \
  --exportJson=precisions.json --report=precisions.html
check_page "precisions" "$work/precisions.html"
expect "report merges" "$lowp" report precisions.json explain.json compare.json --title=merged --output=merged.html
check_page "merged" "$work/merged.html" --long-page
expect "merged page holds every part" "$python" -c '
import json, re
page = open("merged.html", encoding="utf-8").read()
data = json.loads(re.search(r"id=\"report-data\">(.*?)</script>", page, re.S).group(1))
parts = [json.load(open(f)) for f in ("precisions.json", "explain.json", "compare.json")]
for key in ("tables", "engines", "findings"):
    assert len(data.get(key, [])) == sum(len(p.get(key, [])) for p in parts), key
assert data["layerErrors"] == parts[2]["layerErrors"]
assert data["title"] == "merged"'
if out=$("$lowp" report compare.json compare.json --output=twice.html 2>&1); then
  failed=$((failed + 1)); echo "FAIL report: two per-layer error sections merged"
elif ! grep -q "only one report may hold per-layer errors" <<< "$out"; then
  failed=$((failed + 1)); echo "FAIL report: message:"; echo "$out" | sed 's/^/    /'
else
  passed=$((passed + 1))
fi

# A page whose script fails must say so visibly (the checks above rely on it).
expect "broken page" "$python" -c '
import re
page = open("names.html", encoding="utf-8").read()
page = re.sub(r"(id=\"report-data\">).*?(</script>)", lambda m: m.group(1) + "{\"engines\": [" + m.group(2),
              page, count=1, flags=re.S)
open("broken.html", "w", encoding="utf-8").write(page)'
[ -n "$chromium" ] && check_page "broken page shows its error" "$work/broken.html" --expect-error

# An unwritable report is an error naming the option and the file, after the run.
if out=$("$lowp" exec --onnx=names.onnx "${quick[@]}" --report="$work/no-such-folder/r.html" 2>&1); then
  failed=$((failed + 1)); echo "FAIL unwritable report: exit 0"
elif ! grep -q -- "--report: cannot write $work/no-such-folder/r.html" <<< "$out"; then
  failed=$((failed + 1)); echo "FAIL unwritable report: message:"; echo "$out" | tail -3 | sed 's/^/    /'
else
  passed=$((passed + 1))
fi

[ -z "$chromium" ] && echo "SKIP report rendering: chromium is not installed (scripts/install-deps.sh installs it)"
echo "report: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
