"""``sotmot interpolate A.pt B.pt --weight W --out C.pt``: the model (1 - W) * A + W * B of one lineage."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "interpolate", help="mix the weights of two models of one lineage: (1 - W) x A + W x B",
        description="Writes the model whose weights are (1 - W) x A + W x B, e.g. a fine-tuned model (A) moved a "
                    "little back towards the model it was fine-tuned from (B), which keeps more of B's broader "
                    "training (people v7 = 0.9 x v6 + 0.1 x v4). The result has A's configuration (input size) "
                    "and provenance, but not A's tuned detector/tracker settings: tune its own with "
                    "`python bench/tune_tracker.py --split tune,fit --checkpoint C.pt --write`.",
    )
    p.add_argument("a", metavar="A.pt", help="model file or bundled model name (its configuration is kept)")
    p.add_argument("b", metavar="B.pt", help="model file or bundled model name, same architecture")
    p.add_argument("--weight", type=float, required=True, metavar="W", help="share of B, in [0, 1]")
    p.add_argument("--out", required=True, help="model file to write")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..model.checkpoint import save_model
    from ..model.interpolate import interpolate_models

    model, meta = interpolate_models(args.a, args.b, args.weight)
    save_model(args.out, model, meta)
    print(f"{args.out}: {1 - args.weight:g} x {args.a} + {args.weight:g} x {args.b}; input "
          f"{model.config.input_width}x{model.config.input_height}; no tuned settings yet (bench/tune_tracker.py --write)")
    return 0
