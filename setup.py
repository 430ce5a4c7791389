"""The raster's native pixel loops: an optional C extension (NumPy draws the same pixels without it), built
with Python's own compiler flags (no -march: one build runs on any CPU of its architecture)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("glyphpress.raster.native", ["src/glyphpress/raster/native.c"], optional=True)])
