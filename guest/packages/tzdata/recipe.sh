# tzdata: the IANA time zone database as a package. The guest has no
# /usr/share/zoneinfo; zoneinfo (pandas' time zones) and python-dateutil fall
# back to this package. The pure-Python wheel from PyPI.
kind=wheel
version=2026.6
wheel_url=https://files.pythonhosted.org/packages/0a/66/9a06c2227fedfd4919f0eaaa8b94377d9730882a7e4f95823c9a331ab5e1/tzdata-2026.6-py2.py3-none-any.whl
wheel_sha256=0a10eec6e13ef16b627fabed9a5f2ba61a62b1c67f327305f4e7e412a70b4aec
