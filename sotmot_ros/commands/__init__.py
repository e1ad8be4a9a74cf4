"""Sub-commands of the ``sotmot`` tool: each module defines ``register(subparsers)``."""
