"""The package is typed (PEP 561): py.typed, and a stub of the extension module
that names exactly what the module defines."""
import ast
import unittest
from pathlib import Path

import pycell
from pycell import _pycell

PACKAGE = Path(pycell.__file__).parent


class TypingTest(unittest.TestCase):
    def test_py_typed_is_installed(self):
        self.assertTrue((PACKAGE / "py.typed").is_file())

    def test_the_stub_matches_the_extension(self):
        stub = ast.parse((PACKAGE / "_pycell.pyi").read_text())
        functions = {n.name for n in stub.body if isinstance(n, ast.FunctionDef)}
        classes = {n.name: {m.name for m in n.body if isinstance(m, ast.FunctionDef)}
                   for n in stub.body if isinstance(n, ast.ClassDef)}
        public = {name for name in dir(_pycell) if not name.startswith("_")}
        self.assertEqual(functions | set(classes), public)
        for name, methods in classes.items():
            actual = {m for m in dir(getattr(_pycell, name)) if not m.startswith("_")}
            self.assertEqual(methods - {"__init__"}, actual, name)

    def test_execution_error_is_a_pycell_error(self):
        self.assertTrue(issubclass(pycell.ExecutionError, pycell.Error))
        self.assertTrue(issubclass(pycell.PermissionDeniedError, PermissionError))


if __name__ == "__main__":
    unittest.main()
