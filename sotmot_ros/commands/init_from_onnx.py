"""``sotmot init-from-onnx MODEL.onnx``: a trainable SOTMOT model whose body starts from YOLOX-Nano weights."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "init-from-onnx", help="make an initial model for training from a YOLOX-Nano ONNX export (COCO weights)",
        description="Copies the encoder weights of a YOLOX-Nano ONNX export (e.g. the COCO model of the "
                    "pseudo-labelling teachers) into a SOTMOT network with the yolox_nano backbone; the stride-4 "
                    "neck and the heads start untrained. Checks the copy against the ONNX graph's own output "
                    "(onnxruntime) and writes a model file for `sotmot train` (init_model). Needs "
                    "`pip install onnx onnxruntime`.",
    )
    p.add_argument("onnx", metavar="MODEL.onnx", help="YOLOX-Nano export (BGR 0-255 input, folded batch norms)")
    p.add_argument("--out", required=True, help="model file to write")
    p.add_argument("--input-size", default="512x384", help="network input WxH, multiples of 32")
    p.add_argument("--sot-dim", type=int, default=128)
    p.add_argument("--head-conv", type=int, default=64)
    p.add_argument("--tolerance", type=float, default=1e-3,
                   help="largest allowed difference to the ONNX graph's stride-32 output, relative to its largest value")
    p.set_defaults(func=run)


def run(args) -> int:
    import torch

    from ..model.checkpoint import save_model
    from ..model.config import ModelConfig
    from ..model.network import build_model
    from ..model.onnx_import import check_against_onnx, load_encoder_from_onnx

    try:
        w, h = (int(v) for v in args.input_size.lower().split("x"))
    except ValueError:
        raise ValueError(f"--input-size must look like 512x384, got {args.input_size!r}") from None
    torch.manual_seed(0)
    model = build_model(ModelConfig(backbone="yolox_nano", sot_dim=args.sot_dim, head_conv=args.head_conv,
                                    input_width=w, input_height=h))
    load_encoder_from_onnx(model.body.encoder, args.onnx)
    diff = check_against_onnx(model.body.encoder, args.onnx)
    if diff > args.tolerance:
        raise RuntimeError(f"{args.onnx}: the copied encoder differs from the graph by {diff:.3g} (> {args.tolerance})")
    save_model(args.out, model, {"init_from_onnx": {"file": args.onnx, "max_relative_diff": diff}})
    print(f"{args.out}: yolox_nano body from {args.onnx} (largest difference to the graph {diff:.2g}, relative); neck and heads "
          f"untrained; input {w}x{h}")
    return 0
