"""sotmot_ros: SOTMOT multi-object tracking (CenterNet + online SOT ridge models) with a ROS 2 adapter.

The library (model, SOT branch, tracker, data, training, evaluation) never imports ROS;
only ``sotmot_ros.ros`` does.
"""

__version__ = "0.1.0"
