"""Demo tooling: play a video as a camera, record the tracker's output, run the whole demo.

    video_publisher.py  a video file published as ``sensor_msgs/Image`` (executable ``video_publisher``)
    recorder.py         the tracker's output -> MOTChallenge results, annotated video, summary.json
                        (executable ``result_recorder``)
    demo_runner.py      ``make demo``: the demo's nodes and parameters, started by ``ros2 launch`` or as
                        processes (``python -m sotmot_ros.demo.demo_runner``)

Why apart from ``sotmot_ros.ros``: the package a robot runs is the node (``sotmot_ros.ros.node`` and the
adapter modules it uses). These tools exist for demonstrations, tests and benchmarks; keeping them in
their own package keeps their dependencies and their failure modes out of the node. The dependency goes
one way only: the demo uses ``sotmot_ros.ros``, and the node must never import ``sotmot_ros.demo``
(``test/test_demo_package.py`` checks it).
"""
