# pandas: the release sdist from PyPI, built with meson from the build venv.
version=3.1.1
sdist_url=https://files.pythonhosted.org/packages/17/ca/24c6bc92aca3d366146358e47f1d374c0e1a50763ef226fc71eff20a63fb/pandas-3.1.1.tar.gz
sdist_sha256=05fed3e3b7c99b226f160e29d7d6cb7ef39638c758cbfe42b3f24ba34f04b859
# Compiled against numpy's wasm32 headers (numpy-from-cross-file.patch).
depends=(numpy)
meson_options=()
