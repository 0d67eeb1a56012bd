# python-dateutil (pandas parses dates with it): the pure-Python wheel from PyPI.
# 2.9.0.post0, not 4.0.0: 4.0's dateutil.tz imports importlib.resources, which
# imports tempfile and so random, whose state a preloaded snapshot would share.
kind=wheel
version=2.9.0.post0
wheel_url=https://files.pythonhosted.org/packages/ec/57/56b9bcc3c9c6a792fcbaf139543cee77261f3651ca9da0c93f5c1221264b/python_dateutil-2.9.0.post0-py2.py3-none-any.whl
wheel_sha256=a8b2bc7bffae282281c8140a97d3aa9c14da0b136dfe83f850eea9a5f7470427
