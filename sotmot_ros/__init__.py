"""sotmot_ros: SOTMOT multi-object tracking (CenterNet + online SOT ridge models) with a ROS 2 adapter.

The library (model, SOT branch, tracker, data, training, evaluation) never imports ROS;
only ``sotmot_ros.ros`` (the node) and ``sotmot_ros.demo`` (demo tooling) do.
"""

import os as _os

# After a colcon build, the generated ``sotmot_ros.msg`` lives in the installed copy of this package;
# extending the package path lets it be found even when this source folder comes first on sys.path.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)

# The tracker solves many small (N <= a few hundred) linear systems with numpy; multi-threaded OpenBLAS
# makes those ~100x slower through thread start-up and contention (measured: 16 ms vs 0.05 ms at N=50).
# Only a default: a user's explicit setting wins, and torch's own thread pool is unaffected.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
