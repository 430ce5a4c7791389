"""The raster's native pixel loops: an optional C extension (NumPy draws the same pixels without it)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("glyphpress.raster.native", ["src/glyphpress/raster/native.c"],
                             extra_compile_args=["-O3"], optional=True)])
