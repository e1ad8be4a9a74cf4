"""The one ``main()`` of every node program (``sotmot_node``, ``video_publisher``, ``result_recorder``).

:func:`run_node` starts ROS 2, makes the node, runs it, and always cleans up, with the same exit codes
for every program:

    2  a missing or malformed ``--params-file``, or ROS arguments rcl refuses: one line on stderr naming
       the program and the problem (for refused arguments rcl logs one more of its own), no traceback,
       nothing started (``parameters.init_rclpy``)
    0  the node finished (``run`` returned) or was shut down (Ctrl-C / SIGINT, ``rclpy.shutdown()``)
    1  an exception: one of the program's ``expected`` ones is logged as one line, any other is printed
       with its traceback; a failing ``close`` also gives 1 (with its traceback)

Whatever happened, ``close(node)`` runs (when the node was made), then ``node.destroy_node()`` and
``rclpy.try_shutdown()``.
"""

from __future__ import annotations

import traceback
from typing import Callable

import rclpy
from rclpy.executors import ExternalShutdownException

from .parameters import init_rclpy

OK, FAILED, BAD_ARGUMENTS = 0, 1, 2


def spin_until_done(node) -> None:
    """Spin ``node`` until ROS shuts down or the node sets its ``done`` attribute."""
    while rclpy.ok() and not node.done:
        rclpy.spin_once(node, timeout_sec=0.1)


def run_node(prog: str, make_node: Callable[[], object], *, args: list[str] | None = None,
             run: Callable[[object], None] = rclpy.spin, close: Callable[[object], None] | None = None,
             expected: tuple[type[BaseException], ...] = ()) -> int:
    """Run one node program; returns its exit code (see the module docstring).

    ``prog``: the program's name (first word of the one-line errors, logger name before the node exists);
    ``args``: the command line (``None`` = ``sys.argv``); ``make_node()``: the node, made after
    ``rclpy.init``; ``run(node)``: the program's work (default ``rclpy.spin``); ``close(node)``: the
    program's own clean-up before the node is destroyed; ``expected``: exception types that are the
    program's known failures (logged as one line, exit code 1, no traceback).
    """
    if not init_rclpy(args, prog):
        return BAD_ARGUMENTS
    node = None
    code = OK
    try:
        node = make_node()
        run(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except expected as exc:
        logger = node.get_logger() if node is not None else rclpy.logging.get_logger(prog)
        logger.error(str(exc))
        code = FAILED
    except Exception:  # noqa: BLE001 - the traceback is the report
        traceback.print_exc()
        code = FAILED
    finally:
        if node is not None:
            try:
                if close is not None:
                    close(node)
            except Exception:  # noqa: BLE001
                traceback.print_exc()
                code = FAILED
            finally:
                node.destroy_node()
        rclpy.try_shutdown()
    return code
