"""``sotmot train``: train a SOTMOT network from a YAML training config."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a SOTMOT network (single process, or DDP under torchrun)")
    p.add_argument("--config", required=True, help="training config YAML (see config/train_*.yaml)")
    p.add_argument("--out", default=None, help="output directory (default: out_dir of the config)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pth")
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides, e.g. lr=2e-4 epochs=5")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..train.config import TrainConfig
    from ..train.trainer import Trainer

    cfg = TrainConfig.load(args.config, args.overrides)
    trainer = Trainer(cfg, out_dir=args.out, resume=args.resume, show_progress=not args.no_progress)
    try:
        result = trainer.train()
    finally:
        trainer.close()
    if trainer.dist.is_main:
        print(f"done: epoch {result['epoch']}, step {result['step']}, stopped early: {result['stopped_early']}, "
              f"output in {trainer.out_dir}")
    return 0
