"""``sotmot plot RUN_DIR``: loss curves and learned loss weights of a training run, to PNG."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "plot", help="plot the loss curves and uncertainty weights of a training run (PNG)",
        description="Reads RUN_DIR/train_log.csv (required) and RUN_DIR/epoch_log.csv (train vs val per epoch) "
                    "as written by 'sotmot train'; works on a run that is still training.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="output directory of 'sotmot train'")
    p.add_argument("--out", default=None, help="PNG to write (default: RUN_DIR/curves.png)")
    p.add_argument("--dpi", type=int, default=100, help="resolution (the figure is 12 x 8 inches)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..train.plotting import PlotError, plot_run

    try:
        path = plot_run(args.run_dir, args.out, dpi=args.dpi)
    except PlotError as exc:
        raise SystemExit(f"sotmot plot: error: {exc}") from None
    print(path)
    return 0
