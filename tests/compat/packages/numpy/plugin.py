# Stands in for numpy/conftest.py, which the run skips (--noconftest): that file
# imports numpy._core._multiarray_tests, a test-only extension module the guest may
# not link, for an FPU control-word check that is a no-op on wasm32 (get_fpu_mode()
# returns None off x86 and MSVC). Everything else it does for the tests is here.
import os


class NumpyConftest:
    def pytest_configure(self, config):
        # Imported here, as numpy's conftest is, after pytest has loaded its plugins:
        # hypothesis imported earlier could not be assertion-rewritten, and pytest.ini
        # turns that warning into an error.
        import hypothesis

        # numpy's deterministic profile (the one np.test() uses): the same examples on
        # every run and no example database, so expected.json can name the failures.
        hypothesis.settings.register_profile(
            name="np.test() profile", deadline=None, print_blob=True, database=None,
            derandomize=True, suppress_health_check=list(hypothesis.HealthCheck),
        )
        hypothesis.settings.load_profile("np.test() profile")
        # The experimental DType API is used by _umath_tests.
        os.environ["NUMPY_EXPERIMENTAL_DTYPE_API"] = "1"
        # The markers numpy's conftest declares (pytest.ini says --strict-markers).
        for line in (
            "valgrind_error: Tests that are known to error under valgrind.",
            "leaks_references: Tests that are known to leak references.",
            "slow: Tests that are very slow.",
            "slow_pypy: Tests that are very slow on pypy.",
            "parallel_threads(n): run the given test function in parallel using `n` threads.",
            "iterations(n): run the given test function `n` times in each thread",
            "thread_unsafe: mark the test function as single-threaded",
        ):
            config.addinivalue_line("markers", line)


PACKAGE_PLUGINS = [NumpyConftest()]
