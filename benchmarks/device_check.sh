#!/usr/bin/env bash
# One short check (under 5 minutes) for a machine with an NVIDIA GPU. From the repository root:
#
#     bash benchmarks/device_check.sh [LFW_DIR]      # LFW_DIR defaults to ../shared/faces/lfw-dev
#
# Checks first what the GPU paths rely on, then prints images/s for each GPU stage:
#   1. the driver (nvidia-smi) and torch.cuda.is_available();
#   2. CUDA_VISIBLE_DEVICES seen by Ray actors with num_gpus=0 / num_gpus=1, and by maskforge's
#      CPU and GPU pool workers;
#   3. how many processes hold the GPU during a Ray run (nvidia-smi --query-compute-apps);
#   4. the embed benchmark: dlib-resnet fp16, batch 256 (faces/s), fp16 vs fp32 cosine;
#   5. MTCNN on CUDA vs CPU: boxes, and batched images/s on CUDA;
#   6. cleaning 500k synthetic embeddings on CUDA, one identity over 1,024 images;
#   7. BlazeFace + Face Mesh batched (torch): faces found, images/s on CUDA and on the CPU
#      (without CUDA it runs on the CPU only).
# Every section has its own time limit; a failing section prints FAILED and the next one runs.
set -u
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
LFW=${1:-../shared/faces/lfw-dev}
export MASKFORGE_LFW="$LFW" PYTHONPATH=.
section() { echo; echo "== $1"; }
run() { local limit=$1; shift; timeout "$limit" "$@" || echo "FAILED (exit $?): $*"; }

section "1. driver and torch"
run 20 nvidia-smi --query-gpu=name,driver_version,memory.total,utilization.gpu --format=csv
run 60 "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available(), 'devices', torch.cuda.device_count())"

section "2. CUDA_VISIBLE_DEVICES in Ray actors"
run 120 "$PY" - <<'EOF'
import os, ray
ray.init(num_gpus=1, include_dashboard=False, log_to_driver=False)
env = lambda: os.environ.get("CUDA_VISIBLE_DEVICES")
print("plain task num_gpus=0:", ray.get(ray.remote(num_gpus=0)(env).remote()))
print("plain task num_gpus=1:", ray.get(ray.remote(num_gpus=1)(env).remote()))
print("fractional num_gpus=0.25:", ray.get(ray.remote(num_gpus=0.25)(env).remote()))
import inspect
from maskforge.pipeline.ray_actor import ShardActor
assert 'os.environ["CUDA_VISIBLE_DEVICES"] = ""' in inspect.getsource(ShardActor.__init__)
class Probe:
    def __init__(self, kind):  # what ShardActor does for its kind, without a plan
        if kind == "cpu":
            os.environ["CUDA_VISIBLE_DEVICES"] = ""
    def env(self):
        import torch
        return os.environ.get("CUDA_VISIBLE_DEVICES"), torch.cuda.is_available()
cpu = ray.remote(num_gpus=0)(Probe).remote("cpu")
gpu = ray.remote(num_gpus=0.25)(Probe).remote("gpu")
print("maskforge CPU-pool actor (CUDA_VISIBLE_DEVICES, cuda available):", ray.get(cpu.env.remote()))
print("maskforge GPU-pool actor (CUDA_VISIBLE_DEVICES, cuda available):", ray.get(gpu.env.remote()))
ray.shutdown()
EOF

section "3. processes holding the GPU during a Ray run (40 identities of lfw-dev)"
OUT=$(mktemp -d)
( timeout 150 .venv/bin/maskforge run recipes/demo.toml --input "$LFW" --output "$OUT/run" \
    --set source.limit_identities=40 --num-gpus 1 > "$OUT/run.log" 2>&1; echo "run exit $?" >> "$OUT/run.log" ) &
RUN=$!
MAXP=0
while kill -0 "$RUN" 2>/dev/null; do
  N=$(nvidia-smi --query-compute-apps=pid --format=csv,noheader 2>/dev/null | sort -u | grep -c . || true)
  [ "$N" -gt "$MAXP" ] && MAXP=$N
  sleep 1
done
tail -n 3 "$OUT/run.log"
echo "most processes holding the GPU at once: $MAXP (expected: the embed actors only, <= 4 per GPU)"
"$PY" - "$OUT/run/manifest.json" <<'EOF' || echo "no manifest"
import json, sys
m = json.load(open(sys.argv[1]))
print("status", m.get("status"), "| embed model", m.get("models", {}).get("embed"))
print("stage seconds", m.get("timings_s", {}).get("stages_cpu_s"))
EOF

section "4. embed benchmark: dlib-resnet fp16, batch 256"
run 120 "$PY" benchmarks/bench_embed.py --lfw "$LFW" --device cuda --dtype float16 --batch-size 256 --n 48 --gpu-faces 16384
run 60 "$PY" benchmarks/bench_embed.py --lfw "$LFW" --device cuda --dtype float16 --batch-size 512 --n 48 --gpu-faces 32768

section "5. MTCNN on CUDA vs CPU"
run 150 "$PY" - <<'EOF'
import os, time
from pathlib import Path
import numpy as np
from maskforge.detect.factory import make_detector
from maskforge.io.decode import decode_image
paths = sorted(Path(os.environ["MASKFORGE_LFW"]).glob("*/*.jpg"))[:64]
images = [decode_image(p) for p in paths]
gpu = make_detector("mtcnn", device="cuda", batch_size=64)
cpu = make_detector("mtcnn", device="cpu", batch_size=64)
g = gpu.detect(images); c = cpu.detect(images)
diffs = [np.abs(a[0].box - b[0].box).max() for a, b in zip(g, c) if a and b]
print(f"faces found cuda {sum(map(bool, g))} cpu {sum(map(bool, c))} of {len(images)}; "
      f"largest box difference {max(diffs):.2f} px (median {np.median(diffs):.3f})")
big = images * 8
gpu.detect(big[:64])
t = time.perf_counter(); gpu.detect(big); dt = time.perf_counter() - t
print(f"MTCNN cuda batched: {len(big) / dt:.0f} images/s ({len(big)} images of 250x250)")
EOF

section "6. cleaning 500k synthetic embeddings on CUDA (one identity of 3,000 images)"
run 150 "$PY" - <<'EOF'
import time
import numpy as np
from maskforge.clean import CleanConfig, score_identities
rng = np.random.default_rng(0)
sizes = np.r_[rng.integers(20, 81, 9900), 3000]
k = len(sizes)
centres = rng.standard_normal((k, 128)).astype(np.float32)
labels = np.repeat(np.arange(k), sizes)
x = centres[labels] / 11.3 + 0.02 * rng.standard_normal((len(labels), 128)).astype(np.float32)
x /= np.linalg.norm(x, axis=1, keepdims=True)
ids = np.char.add("id", labels.astype(str))
for method in ("mean-distance", "robust"):
    score_identities(x[:20000], ids[:20000], CleanConfig(method=method), "cuda")
    t = time.perf_counter()
    res = score_identities(x, ids, CleanConfig(method=method), "cuda")
    dt = time.perf_counter() - t
    print(f"{method:<14} {len(x):,} embeddings, {k:,} identities (largest 3,000): {dt:.2f} s, "
          f"{len(x) / dt:,.0f} images/s on {res.device}")
EOF
section "7. BlazeFace + Face Mesh batched (CUDA when present, else CPU)"
run 150 "$PY" - <<'EOF'
import os, time
from pathlib import Path
import numpy as np, torch
from maskforge.detect import DetectConfig, DetectStage
from maskforge.io.decode import decode_image
paths = sorted(Path(os.environ["MASKFORGE_LFW"]).glob("*/*.jpg"))[:128]
images = [decode_image(p) for p in paths]
devices = (["cuda"] if torch.cuda.is_available() else []) + ["cpu"]
res = {}
for dev in devices:
    stage = DetectStage(DetectConfig(detector="blazeface", landmarks="mesh", device=dev, batch_size=128))
    stage(images[:8])
    big = images * (8 if dev == "cuda" else 1)
    t = time.perf_counter(); out = stage(big); dt = time.perf_counter() - t
    res[dev] = out[: len(images)]
    found = sum(getattr(o, "mesh", None) is not None for o in res[dev])
    print(f"blazeface+mesh {dev}: {found}/{len(images)} faces, {len(big) / dt:.0f} images/s "
          f"({len(big)} images of 250x250, batch 128, torch threads {torch.get_num_threads()})")
if "cuda" in res:
    d = [np.abs(a.mesh - b.mesh)[:, :2].max() for a, b in zip(res["cuda"], res["cpu"])
         if getattr(a, "mesh", None) is not None and getattr(b, "mesh", None) is not None]
    print(f"mesh points cuda vs cpu (112 px crops): largest {max(d):.3f} px, median {np.median(d):.4f} px")
EOF
rm -rf "$OUT"
