"""Installs leaf_tf.

TensorFlow comes as one of several wheels: `tensorflow` (default, CPU + GPU on
Linux), `tensorflow-cpu` (CPU only, half the download) or
`tensorflow[and-cuda]` (bundled CUDA). Pick one with the environment variable
`LEAF_TF_TENSORFLOW`, e.g. `LEAF_TF_TENSORFLOW=tensorflow-cpu pip install -e .`.
"""

import os

from setuptools import find_packages, setup

TENSORFLOW = os.environ.get("LEAF_TF_TENSORFLOW", "tensorflow")

setup(
    name="leaf_tf",
    version="0.1.0",
    description="LEAF and other learnable audio frontends as Keras 3 layers, with paper-reproduction pipelines.",
    long_description=open("README.md", encoding="utf-8").read() if os.path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["leaf_tf", "leaf_tf.*"]),
    include_package_data=True,
    install_requires=[
        f"{TENSORFLOW}>=2.16",
        "keras>=3.0",
        "tensorflow-datasets>=4.9",
        "gin-config>=0.5",
        "absl-py>=1.0",
        "numpy>=1.24",
        "soundfile>=0.12",
        "soxr>=0.3",
        "tensorboard>=2.16",
        "importlib_resources>=5",  # tfds 4.9.10 needs it to prepare datasets but does not declare it
    ],
    entry_points={"console_scripts": ["leaf_tf = leaf_tf.plot:main"]},
    extras_require={
        "test": ["pytest>=7", "pytest-xdist>=3", "scipy>=1.10", "matplotlib>=3.7", "dill"],
        "plots": ["matplotlib>=3.7"],
    },
)
