# python-dateutil (pandas parses dates with it): the pure-Python wheel from PyPI.
kind=wheel
version=4.0.0
wheel_url=https://files.pythonhosted.org/packages/2f/a9/52b89563d154433d79b51ed1eb4842bf7334cb2696891a7fe135618853d7/python_dateutil-4.0.0-py3-none-any.whl
wheel_sha256=a5e246f79eb80475e691bf93862cead98decd8a498cf53ba0516fcdc0f50dc1c
