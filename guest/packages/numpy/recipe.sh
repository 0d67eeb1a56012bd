# numpy: the release sdist from PyPI, built with the meson it bundles.
version=2.4.6
sdist_url=https://files.pythonhosted.org/packages/d0/ad/fed0499ce6a338d2a03ebae59cd15093910c8875328855781952abf6c2fe/numpy-2.4.6.tar.gz
sdist_sha256=f3a3570c4a2a16746ac2c31a7c7c7b0c186b95ce902e33db6f28094ed7387dda
meson=vendored-meson/meson/meson.py
# No BLAS/LAPACK (numpy's bundled lapack-lite), no SIMD dispatch, no threads.
meson_options=(
  -Dblas=none -Dlapack=none -Ddisable-optimization=true -Dcpu-baseline=none -Dcpu-dispatch=none
  -Ddisable-threading=true -Ddisable-highway=true -Ddisable-intel-sort=true -Ddisable-svml=true
)
# Extension modules numpy itself only imports from its test suite (they join
# with the test image) and the SIMD self-test (no SIMD here).
skip_modules=numpy._core._multiarray_tests,numpy._core._umath_tests,numpy._core._rational_tests,numpy._core._struct_ufunc_tests,numpy._core._operand_flag_tests,numpy._core._simd
