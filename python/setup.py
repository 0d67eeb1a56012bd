"""Builds pycell's extension module with the project's own CMake.

    .venv/bin/pip install --no-build-isolation ./python      (see docs/python.md)

The guest (CPython compiled to wasm, then to a native object) is never rebuilt
here: guest/build-guest.sh returns its cached directory. Environment:
  PYCELL_GUEST_DIR   use this guest directory instead of asking guest/build-guest.sh
  PYCELL_BUILD_DIR   CMake build directory to create or reuse; keeping it makes a
                     reinstall incremental (default: a directory under build/)
  PYCELL_BUILD_TYPE  CMake build type (default Release)
  PYCELL_WERROR      ON: compile with -Werror, as the project's own builds do (default OFF)
"""
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def guest_dir():
    if os.environ.get("PYCELL_GUEST_DIR"):
        return os.environ["PYCELL_GUEST_DIR"]
    # Prints the cached guest's directory; builds it only if its inputs changed.
    out = subprocess.run(["bash", str(REPO / "guest" / "build-guest.sh")], check=True,
                         stdout=subprocess.PIPE, text=True)
    return out.stdout.strip().splitlines()[-1]


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        guest = guest_dir()
        build_dir = Path(os.environ.get("PYCELL_BUILD_DIR") or Path(self.build_temp) / "cmake").resolve()
        subprocess.run(["cmake", "-S", str(HERE), "-B", str(build_dir), "-G", "Ninja",
                        "-DCMAKE_BUILD_TYPE=" + os.environ.get("PYCELL_BUILD_TYPE", "Release"),
                        "-DPYCELL_GUEST_DIR=" + guest,
                        "-DPYCELL_WERROR=" + os.environ.get("PYCELL_WERROR", "OFF"),
                        # The interpreter running this build: the module must match its ABI.
                        "-DPYTHON_EXECUTABLE=" + sys.executable],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "pycell_python_ext"], check=True)

        built = glob.glob(str(build_dir / "_pycell*.so"))
        if len(built) != 1:
            raise RuntimeError(f"expected one _pycell*.so in {build_dir}, found {built}")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], target)
        # The package carries its stdlib image, and the Python part of the packages
        # compiled into the guest (numpy) under the name the engine looks for beside it.
        shutil.copyfile(Path(guest) / "stdlib.tar", target.parent / "pycell-stdlib.tar")
        shutil.copyfile(Path(guest) / "packages.tar", target.parent / "pycell-packages.tar")


def setuptools_options():
    """With PYCELL_BUILD_DIR, setuptools' own scratch goes there too, not beside setup.py,
    so installs from two build directories do not share one."""
    if not os.environ.get("PYCELL_BUILD_DIR"):
        return {}
    base = Path(os.environ["PYCELL_BUILD_DIR"]).resolve() / "setuptools"
    base.mkdir(parents=True, exist_ok=True)
    return {"build": {"build_base": str(base)}, "egg_info": {"egg_base": str(base)}}


setup(packages=["pycell"], package_data={"pycell": ["py.typed", "*.pyi"]}, ext_modules=[Extension("pycell._pycell", sources=[])],
      cmdclass={"build_ext": CMakeBuild}, options=setuptools_options())
