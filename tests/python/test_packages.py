"""The packages compiled into the guest (numpy) from the installed package: its
pure-Python part ships in the package beside the stdlib image, and preload puts
it in every session's snapshot."""
import pathlib
import unittest

import pycell

# Modules whose Python part is in pycell-packages.tar (pandas joins when the guest has it).
PACKAGES = {"numpy": "2.4.6"}


class PackagesTest(unittest.TestCase):
    def test_the_image_ships_in_the_installed_package(self):
        package = pathlib.Path(pycell.__file__).parent
        self.assertTrue((package / "pycell-packages.tar").is_file())

    def test_a_default_sandbox_imports_them(self):
        with pycell.Sandbox(timeout_ms=20_000) as sandbox, sandbox.session() as s:
            for name, version in PACKAGES.items():
                r = s.exec(f"import {name}\n{name}.__version__")
                self.assertEqual((r.exit_reason, r.value), ("ok", version), r.stderr)
            r = s.exec("import numpy as np\nfloat(np.arange(10.0).reshape(2, 5).sum(axis=0)[-1])")
            self.assertEqual((r.exit_reason, r.value), ("ok", 13.0), r.stderr)

    def test_preload_puts_them_in_every_fresh_session(self):
        probe = "import sys\nsorted(m for m in %r if m in sys.modules)" % (sorted(PACKAGES),)
        with pycell.Sandbox(timeout_ms=20_000) as sandbox, sandbox.session() as s:
            self.assertEqual(s.exec(probe).value, [])
        with pycell.Sandbox(timeout_ms=20_000, preload=list(PACKAGES)) as sandbox:
            for _ in range(2):
                with sandbox.session() as s:
                    self.assertEqual(s.exec(probe).value, sorted(PACKAGES))
                    r = s.exec("import numpy as np\nint(np.ones((3, 3)).sum())")
                    self.assertEqual((r.exit_reason, r.value), ("ok", 9), r.stderr)

    def test_a_preload_that_cannot_be_imported_names_the_module(self):
        with self.assertRaises(pycell.errors.InvalidArgumentError) as caught:
            pycell.Sandbox(preload=["numpy", "no_such_module"])
        self.assertIn("preload: cannot import 'no_such_module': ModuleNotFoundError", str(caught.exception))

    def test_cxx_bad_alloc_at_the_memory_cap_is_memory_and_rolls_back(self):
        with pycell.Sandbox(memory_mb=128, timeout_ms=20_000) as sandbox, sandbox.session() as s:
            self.assertEqual(s.exec("import numpy as np\nkept = 5").exit_reason, "ok")
            s.snapshot()
            r = s.exec("np.fft.fft(np.ones(2_500_000, complex))")
            self.assertEqual((r.exit_reason, r.rolled_back), ("memory", True), r.stderr)
            self.assertIn("C++ exception St9bad_alloc thrown", r.stderr)
            self.assertEqual(s.exec("kept").value, 5)


if __name__ == "__main__":
    unittest.main()
