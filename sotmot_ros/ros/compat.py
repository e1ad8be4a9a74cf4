"""rclpy differences between the ROS 2 distributions the node supports (Humble, Jazzy, Kilted).

Checked against the rclpy sources of each distribution (branches humble = rclpy 3.3.x, jazzy = 7.x; Kilted
is what the pip set-up runs):

* ``Node.add_post_set_parameters_callback`` (and ``add_pre_set_parameters_callback``) arrived in Iron;
  Humble only has ``add_on_set_parameters_callback``. There the validated change is applied from the
  on-set callback itself. In Humble that callback is inserted *first* in the node's list
  (``_parameters_callbacks.insert(0, ...)``) and the only other one in this node, the TimeSource's
  ``use_sim_time`` callback, always succeeds, so a change the node accepted is always stored too: the
  behaviour is the same as validate (on-set) + apply (post-set).

Everything else the node, the recorder, the video publisher and the demo runner use exists in all three
(``rclpy.lifecycle.LifecycleNode``, ``create_lifecycle_publisher``/``destroy_lifecycle_publisher``,
``rclpy.try_shutdown``, ``ExternalShutdownException``, ``ParameterUninitializedException``,
``declare_parameter(name, Parameter.Type, descriptor, ignore_override=)``, ``RcutilsLogger.warning``).
"""

from __future__ import annotations

from typing import Callable

POST_SET = "post-set callback"
ON_SET_FALLBACK = "on-set callback (Humble: no post-set callbacks)"


def has_post_set_callbacks(node) -> bool:
    return callable(getattr(node, "add_post_set_parameters_callback", None))


def add_parameter_callbacks(node, validate: Callable, apply: Callable[[list], None]) -> str:
    """Validate parameter changes with ``validate`` and apply the accepted ones with ``apply``.

    ``validate(params) -> SetParametersResult``; ``apply(params)`` runs only for accepted changes, after
    validation. Returns which mechanism is used (``POST_SET`` or ``ON_SET_FALLBACK``).
    """
    if has_post_set_callbacks(node):
        node.add_on_set_parameters_callback(validate)
        node.add_post_set_parameters_callback(apply)
        return POST_SET

    def validate_then_apply(params):
        result = validate(params)
        if result.successful:
            apply(params)
        return result

    node.add_on_set_parameters_callback(validate_then_apply)
    return ON_SET_FALLBACK
