#!/usr/bin/env python3
"""Timing benchmark of the two compute-heavy parts of SOTMOT: the detector step and the SOT ridge solve.

Why: the ROS node must keep up with a camera on modest hardware, and the backbone (DLA-34 vs
EfficientNet-Lite0), the network input size and the number of tracked targets are the knobs that
decide whether it does. This script puts numbers on them, on this machine, so choices in the launch
configuration and in the docs rest on measurements rather than guesses. It prints numbers only; it
never asserts on timing (timings depend on the machine and on its load: on a busy machine, torch's
OpenMP threads wait for each other at every op, so compare ``--threads 1`` before trusting a number).

What it measures:

1. Detector step per frame, split like ``Detector.detect_batch``: pre-processing (letterbox + tensor
   upload), network forward (the body and the heatmap head), decoding (peak extraction, the box, offset and SOT
   heads computed at the kept peaks, inverse letterbox) and the total, as median and
   p90 over ``--runs`` frames after ``--warmup`` frames. The source is a real 768x576 frame of the demo
   video (``scripts/fetch_demo_video.sh`` -> ``data_cache/vtest.avi``) when it is there, else a random
   768x576 image. Weights are random (untrained) unless ``--checkpoint`` is given: that is fine for the
   network's cost, which does not depend on the weight values. Only decoding would be skewed: the heads'
   training initialisation (std 0.001) gives an almost constant heatmap, on which top-K is much cheaper
   than on a real one, so random-weight heads are re-initialised at PyTorch's default scale (heatmap
   prior bias kept) before timing. Decoding always takes the top-K peaks, so its
   cost barely depends on how many pass the score threshold.
2. SOT solve (``ridge_fit``) and scoring (``ridge_score``) for N targets and M = N candidates of
   dimension D, in the primal, dual and automatic forms (float32) plus float64 (auto), on CPU and on
   CUDA when available; also the tracker's NumPy/SciPy path (``tracking.association.sot_responses``),
   whose time depends on OpenBLAS's own thread pool (``OPENBLAS_NUM_THREADS``, recorded in the JSON),
   not on ``--threads``.

Examples::

    .venv/bin/python bench/bench_model.py                      # defaults, 2 threads
    .venv/bin/python bench/bench_model.py --runs 3 --sot-runs 50 --json /tmp/bench.json   # smoke check
    .venv/bin/python bench/bench_model.py --backbones efficientnet_lite0 --sizes 576x448,864x480
    .venv/bin/python bench/bench_model.py --checkpoint sotmot_ros/weights/default.pt --device cuda --half
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# The package first, before numpy/torch load OpenBLAS: it sets the library's thread defaults
# (OPENBLAS_NUM_THREADS), which only take effect if set before OpenBLAS is loaded, as in the node.
import sotmot_ros  # noqa: E402,F401

import numpy as np  # noqa: E402
import torch  # noqa: E402

from sotmot_ros.commands.track import input_size_arg  # noqa: E402
from sotmot_ros.detector import Detector, resolve_device  # noqa: E402
from sotmot_ros.types import BACKENDS  # noqa: E402
from sotmot_ros.model.checkpoint import default_checkpoint_path, load_model  # noqa: E402
from sotmot_ros.model.config import BACKBONES, ModelConfig  # noqa: E402
from sotmot_ros.model.heads import HEATMAP_PRIOR_BIAS  # noqa: E402
from sotmot_ros.model.network import HEAD_NAMES, SOTMOTNet  # noqa: E402
from sotmot_ros.sot import ridge_fit, ridge_score  # noqa: E402

SOURCE_SIZE = (768, 576)  # (width, height) of the demo video's frames
STAGES = ("pre", "forward", "decode", "total")
SOT_NS = (10, 50, 100, 200)


# ----------------------------------------------------------------------------------------------- inputs


def parse_size(text: str) -> tuple[int, int]:
    """'576x448' -> (576, 448): a network input, multiples of 32."""
    w, h = input_size_arg(text)
    if w < 32 or h < 32 or w % 32 or h % 32:
        raise argparse.ArgumentTypeError(f"sizes must be multiples of 32, got {text!r}")
    return w, h


def parse_frame_size(text: str) -> tuple[int, int]:
    """'1280x720' -> (1280, 720): any positive size (a camera's)."""
    w, h = input_size_arg(text)
    if w < 1 or h < 1:
        raise argparse.ArgumentTypeError(f"frame size must be positive, got {text!r}")
    return w, h


def parse_sizes(text: str) -> list[tuple[int, int]]:
    return [parse_size(t) for t in text.split(",") if t.strip()]


def demo_video_path() -> Path:
    """Where ``scripts/fetch_demo_video.sh`` puts the video (it honours SOTMOT_DATA_DIR)."""
    return Path(os.environ.get("SOTMOT_DATA_DIR", REPO / "data_cache")) / "vtest.avi"


def load_source_image(frame_index: int = 100, size: tuple[int, int] = SOURCE_SIZE) -> tuple[np.ndarray, str]:
    """A BGR uint8 frame of the demo video resized to ``size`` (its own 768x576 by default) when the video is
    present, else a random image of that size."""
    path = demo_video_path()
    if path.is_file():
        import cv2

        cap = cv2.VideoCapture(str(path))
        cap.set(cv2.CAP_PROP_POS_FRAMES, frame_index)
        ok, frame = cap.read()
        cap.release()
        if ok and frame is not None:
            if (frame.shape[1], frame.shape[0]) != tuple(size):
                frame = cv2.resize(frame, tuple(size), interpolation=cv2.INTER_AREA)
            return np.ascontiguousarray(frame), f"{path.name} frame {frame_index}"
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "random image"


def bundled_config() -> ModelConfig | None:
    """The config of the bundled model file, or None when there is none (or it is unreadable)."""
    path = default_checkpoint_path()
    if not path.is_file():
        return None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
        return ModelConfig.from_dict(dict(data["config"]))
    except Exception as exc:  # a broken bundled file must not stop the benchmark
        print(f"warning: cannot read the config of {path}: {exc}", file=sys.stderr)
        return None


def realistic_head_scale(model: SOTMOTNet) -> None:
    """Re-initialise the heads of an untrained model at PyTorch's default scale, so its heatmap varies like a
    trained one's (see the module docstring); the architecture and the cost of the forward pass are unchanged."""
    for name in HEAD_NAMES:
        head = getattr(model, name)
        for module in head.modules():
            if isinstance(module, torch.nn.Conv2d):
                module.reset_parameters()
    torch.nn.init.constant_(model.hm[-1].bias, HEATMAP_PRIOR_BIAS)


def detector_cases(args) -> list[tuple[str, SOTMOTNet, list[tuple[int, int]]]]:
    """(label, model, input sizes) for every network to time."""
    if args.checkpoint:
        model, _ = load_model(args.checkpoint, device="cpu")
        sizes = args.sizes or [(model.config.input_width, model.config.input_height)]
        return [(f"{model.config.backbone} ({Path(args.checkpoint).name})", model, sizes)]
    bundled = bundled_config()
    cases = []
    for backbone in args.backbones:
        torch.manual_seed(0)
        if bundled is not None and bundled.backbone == backbone:
            config = bundled
            default_sizes = [(bundled.input_width, bundled.input_height)]
        elif backbone != "dla34":  # the CPU bodies: light heads
            config = ModelConfig(backbone=backbone, head_conv=args.head_conv, input_width=576, input_height=448)
            default_sizes = [(576, 448)]
        else:
            config = ModelConfig(backbone=backbone)
            default_sizes = [(1088, 608), (576, 448)]
        model = SOTMOTNet(config, pretrained_backbone=False)
        realistic_head_scale(model)
        label = f"{backbone} (hc {config.head_conv}, random)"
        cases.append((label, model, args.sizes or default_sizes))
    return cases


# ------------------------------------------------------------------------------------------- statistics


def summarize(samples_s: list[float], scale: float) -> dict:
    """Median and p90 of a list of seconds, in the unit given by ``scale`` (1e3: ms, 1e6: µs)."""
    arr = np.asarray(samples_s, dtype=np.float64) * scale
    return {"median": float(np.median(arr)), "p90": float(np.percentile(arr, 90)), "runs": len(samples_s)}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --------------------------------------------------------------------------------------------- detector


@torch.inference_mode()
def detector_step(det: Detector, image: np.ndarray) -> dict[str, float]:
    """One frame through the stages of ``Detector.detect_batch`` (prepare, network, decode), each timed in seconds."""
    dev = det.device
    t0 = time.perf_counter()
    batch, letterboxes = det.prepare([image])
    _sync(dev)
    t1 = time.perf_counter()
    outputs = det.network(batch)
    _sync(dev)
    t2 = time.perf_counter()
    det.decode(outputs, letterboxes)
    t3 = time.perf_counter()
    return {"pre": t1 - t0, "forward": t2 - t1, "decode": t3 - t2, "total": t3 - t0}


def time_detector(det: Detector, image: np.ndarray, runs: int, warmup: int) -> dict[str, dict]:
    """Median/p90 (ms) of each stage over ``runs`` frames after ``warmup`` frames."""
    for _ in range(warmup):
        detector_step(det, image)
    samples = {k: [] for k in STAGES}
    for _ in range(runs):
        for k, v in detector_step(det, image).items():
            samples[k].append(v)
    return {k: summarize(v, 1e3) for k, v in samples.items()}


def bench_detectors(args, image: np.ndarray, device: torch.device) -> list[dict]:
    results = []
    for label, model, sizes in detector_cases(args):
        n_params = sum(p.numel() for p in model.parameters())
        for w, h in sizes:
            det = Detector(model, device=device, half=args.half, input_size=(w, h), backend=args.backend,
                           trim_padding=args.trim_padding)
            stats = time_detector(det, image, args.runs, args.warmup)
            w, h = det.batch_input_size([image])  # what the network computed (trim_padding)
            row = {
                "model": label,
                "backbone": model.config.backbone,
                "head_conv": model.config.head_conv,
                "sot_dim": model.config.sot_dim,
                "params_m": n_params / 1e6,
                "input_size": [w, h],
                "half": det.half,
                "backend": det.backend,
                "device": str(det.device),
                "stages_ms": stats,
            }
            results.append(row)
            print_detector_row(row)
    return results


# -------------------------------------------------------------------------------------------------- SOT


def _sot_inputs(n: int, m: int, d: int, dtype: torch.dtype, device: torch.device, seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)
    c = torch.nn.functional.normalize(torch.randn(m, d, generator=g, dtype=torch.float64), dim=1)
    return x.to(device=device, dtype=dtype), c.to(device=device, dtype=dtype)


def time_sot(n: int, m: int, d: int, form: str, dtype: torch.dtype, device: torch.device, lam: float,
             runs: int, warmup: int) -> dict:
    """Fit (``ridge_fit``), score (``ridge_score``) and their sum, in µs, for one (N, M, D, form, dtype)."""
    x, c = _sot_inputs(n, m, d, dtype, device, seed=n)
    fit, score, total = [], [], []
    with torch.inference_mode():
        for i in range(warmup + runs):
            _sync(device)
            t0 = time.perf_counter()
            w = ridge_fit(x, lam, form=form)
            _sync(device)
            t1 = time.perf_counter()
            s = ridge_score(w, c)
            _sync(device)
            t2 = time.perf_counter()
            if i >= warmup:
                fit.append(t1 - t0)
                score.append(t2 - t1)
                total.append(t2 - t0)
    del s
    return {"fit_us": summarize(fit, 1e6), "score_us": summarize(score, 1e6), "total_us": summarize(total, 1e6)}


def time_sot_numpy(n: int, m: int, d: int, lam: float, runs: int, warmup: int) -> dict:
    """The tracker's NumPy/SciPy responses (fit and scoring in one call), in µs."""
    from sotmot_ros.tracking.association import sot_responses

    x, c = _sot_inputs(n, m, d, torch.float32, torch.device("cpu"), seed=n)
    x, c = x.numpy(), c.numpy()
    total = []
    for i in range(warmup + runs):
        t0 = time.perf_counter()
        sot_responses(x, c, lam)
        if i >= warmup:
            total.append(time.perf_counter() - t0)
    return {"total_us": summarize(total, 1e6)}


def bench_sot(args) -> list[dict]:
    devices = [torch.device("cpu")]
    if torch.cuda.is_available() and not args.no_cuda_sot:
        devices.append(resolve_device(args.device) if args.device.startswith("cuda") else torch.device("cuda", 0))
    variants = [("primal", torch.float32), ("dual", torch.float32), ("auto", torch.float32), ("auto", torch.float64)]
    results = []
    for dev in devices:
        for form, dtype in variants:
            for n in SOT_NS:
                stats = time_sot(n, n, args.sot_dim, form, dtype, dev, args.lam, args.sot_runs, args.sot_warmup)
                results.append({"impl": "torch", "device": str(dev), "form": form, "dtype": str(dtype).replace("torch.", ""),
                                "N": n, "M": n, "D": args.sot_dim, **stats})
    if not args.no_numpy_sot:
        try:
            for n in SOT_NS:
                stats = time_sot_numpy(n, n, args.sot_dim, args.lam, args.sot_runs, args.sot_warmup)
                results.append({"impl": "numpy (tracker)", "device": "cpu", "form": "auto", "dtype": "float32",
                                "N": n, "M": n, "D": args.sot_dim, **stats})
        except ImportError as exc:
            print(f"warning: tracker NumPy path not timed: {exc}", file=sys.stderr)
    return results


# ---------------------------------------------------------------------------------------------- output


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment(device: torch.device) -> dict:
    import cv2

    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "opencv_threads": cv2.getNumThreads(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "blas_thread_env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
                            if k in os.environ},
        "device": str(device),
        "cuda_available": torch.cuda.is_available(),
    }
    if device.type == "cuda":
        env["cuda_device_name"] = torch.cuda.get_device_name(device)
        env["cuda_version"] = torch.version.cuda
    return env


def print_detector_header() -> None:
    print("\nDetector step per frame, ms (median / p90)")
    print(f"{'model':<40} {'input':>9} {'prec':>4} {'run':>3} | " + " | ".join(f"{s:>15}" for s in STAGES))
    print("-" * 120)


def print_detector_row(row: dict) -> None:
    w, h = row["input_size"]
    cells = " | ".join(f"{row['stages_ms'][s]['median']:7.1f} /{row['stages_ms'][s]['p90']:7.1f}" for s in STAGES)
    engine = "ort" if row["backend"] == "onnxruntime" else "pt"
    print(f"{row['model']:<40} {f'{w}x{h}':>9} {'fp16' if row['half'] else 'fp32':>4} {engine:>3} | {cells}",
          flush=True)


def print_sot_table(rows: list[dict]) -> None:
    print("\nSOT ridge fit + scoring, µs median (fit + score = total; M = N candidates)")
    head = f"{'impl':<16} {'device':<7} {'form':<7} {'dtype':<8}"
    print(head + " | " + " | ".join(f"{f'N={n}':>22}" for n in SOT_NS))
    print("-" * (len(head) + 3 + 25 * len(SOT_NS)))
    keys = []
    for r in rows:
        k = (r["impl"], r["device"], r["form"], r["dtype"])
        if k not in keys:
            keys.append(k)
    for k in keys:
        cells = []
        for n in SOT_NS:
            r = next((r for r in rows if (r["impl"], r["device"], r["form"], r["dtype"]) == k and r["N"] == n), None)
            if r is None:
                cells.append(f"{'-':>22}")
            elif "fit_us" in r:
                cells.append(f"{r['fit_us']['median']:6.0f}+{r['score_us']['median']:4.0f}={r['total_us']['median']:7.0f}")
            else:
                cells.append(f"{r['total_us']['median']:>22.0f}")
        print(f"{k[0]:<16} {k[1]:<7} {k[2]:<7} {k[3]:<8} | " + " | ".join(f"{c:>22}" for c in cells))


# ------------------------------------------------------------------------------------------------- main


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2, help="torch (and OpenCV) CPU threads (default 2)")
    p.add_argument("--device", default="cpu", help="detector device: cpu, cuda, cuda:N or auto (default cpu)")
    p.add_argument("--half", action="store_true", help="float16 network (CUDA only; ignored on CPU)")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="inference engine (default auto: ONNX Runtime on the CPU when installed)")
    p.add_argument("--backbones", type=lambda s: [b.strip() for b in s.split(",") if b.strip()],
                   default=list(BACKBONES), help=f"comma-separated, from {','.join(BACKBONES)}")
    p.add_argument("--frame-size", type=parse_frame_size, default=SOURCE_SIZE, metavar="WxH",
                   help="camera frame size: the demo frame resized to it (default 768x576; e.g. 1280x720)")
    p.add_argument("--trim-padding", action="store_true",
                   help="the Detector's trim_padding (the input column shows what the network ran at)")
    p.add_argument("--sizes", type=parse_sizes, default=None,
                   help="network input sizes WxH,WxH for every backbone (default: per backbone, see docstring)")
    p.add_argument("--checkpoint", default=None, help="time this model file instead of random-weight backbones")
    p.add_argument("--head-conv", type=int, default=64,
                   help="efficientnet_lite0 head width when there is no bundled model (default 64)")
    p.add_argument("--runs", type=int, default=20, help="timed detector frames per case (default 20)")
    p.add_argument("--warmup", type=int, default=3, help="untimed detector frames first (default 3)")
    p.add_argument("--sot-dim", type=int, default=128, help="SOT feature dimension D (default 128)")
    p.add_argument("--sot-runs", type=int, default=100, help="timed SOT solves per case (default 100, >= 50)")
    p.add_argument("--sot-warmup", type=int, default=10, help="untimed SOT solves first (default 10)")
    p.add_argument("--lam", type=float, default=0.5, help="ridge lambda (default 0.5, the tracker's)")
    p.add_argument("--no-detector", action="store_true", help="skip the detector part")
    p.add_argument("--no-sot", action="store_true", help="skip the SOT part")
    p.add_argument("--no-cuda-sot", action="store_true", help="SOT on CPU only even when CUDA is present")
    p.add_argument("--no-numpy-sot", action="store_true", help="skip the tracker's NumPy/SciPy SOT path")
    p.add_argument("--json", default=None, help="also write all numbers and the environment to this file")
    args = p.parse_args(argv)
    unknown = [b for b in args.backbones if b not in BACKBONES]
    if unknown:
        p.error(f"unknown backbones {unknown}; choose from {BACKBONES}")
    if args.runs < 1 or args.sot_runs < 1 or args.threads < 1:
        p.error("--runs, --sot-runs and --threads must be >= 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    import cv2

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    device = resolve_device(args.device)
    env = environment(device)
    print(f"torch {env['torch']}, threads {env['torch_threads']} (interop {env['torch_interop_threads']}), "
          f"CPU {env['cpu_model']} x{env['cpu_count']}, load {env['loadavg']}, device {env['device']}"
          + (f" ({env['cuda_device_name']})" if "cuda_device_name" in env else ""))
    out = {"environment": env, "args": {k: v for k, v in vars(args).items()}}

    if not args.no_detector:
        image, source = load_source_image(size=args.frame_size)
        print(f"source: {source}, {image.shape[1]}x{image.shape[0]} BGR; {args.runs} runs after {args.warmup} warm-up")
        out["detector"] = {"source": source, "source_size": [image.shape[1], image.shape[0]], "runs": args.runs,
                           "warmup": args.warmup, "results": []}
        print_detector_header()
        out["detector"]["results"] = bench_detectors(args, image, device)

    if not args.no_sot:
        rows = bench_sot(args)
        print_sot_table(rows)
        out["sot"] = {"lam": args.lam, "runs": args.sot_runs, "warmup": args.sot_warmup, "results": rows}

    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=2, default=str) + "\n")
        print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
