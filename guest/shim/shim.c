/* Guest shim: the reactor entry points the host calls (init once, exec many, alloc/free). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define EXPORT(name) __attribute__((export_name(#name)))

/* Where the host's read-only stdlib image is mounted inside the guest. */
#define STDLIB_DIR L"/usr/local/lib/python3.13"

static PyObject *g_run;      /* _pycell.run */
static PyObject *g_result;   /* bytes of the last result, kept alive until the next exec */

/* The host reads the last result through this fixed record: {pointer, length}. */
static struct { uint32_t ptr, len; } g_result_view;

EXPORT(pycell_alloc) void *pycell_alloc(uint32_t size) { return malloc(size ? size : 1); }
EXPORT(pycell_free) void pycell_free(void *p) { free(p); }

static int fail(PyStatus st) {
  if (st.err_msg) fprintf(stderr, "pycell guest: %s: %s\n", st.func ? st.func : "init", st.err_msg);
  return 1;
}

/* Initializes the interpreter and imports the runner. Returns 0 on success. */
EXPORT(pycell_init) int pycell_init(void) {
  PyPreConfig pre;
  PyPreConfig_InitIsolatedConfig(&pre);
  pre.utf8_mode = 1;
  PyStatus st = Py_PreInitialize(&pre);
  if (PyStatus_Exception(st)) return fail(st);

  PyConfig c;
  PyConfig_InitIsolatedConfig(&c);
  c.site_import = 1;            /* exit()/quit()/help() exist as users expect */
  c.write_bytecode = 0;         /* the stdlib is read-only and precompiled */
  c.install_signal_handlers = 0;
  c.buffered_stdio = 0;         /* output reaches the host as it is printed */
  c.parse_argv = 0;
  c.module_search_paths_set = 1;
  st = PyWideStringList_Append(&c.module_search_paths, STDLIB_DIR);
  if (!PyStatus_Exception(st)) st = PyConfig_SetString(&c, &c.program_name, L"python3.13");
  if (!PyStatus_Exception(st)) st = PyConfig_SetString(&c, &c.home, L"/usr/local");
  if (!PyStatus_Exception(st)) st = Py_InitializeFromConfig(&c);
  PyConfig_Clear(&c);
  if (PyStatus_Exception(st)) return fail(st);

  /* Relative paths land in the private scratch directory. */
  if (chdir("/tmp") != 0) return 4;

  PyObject *mod = PyImport_ImportModule("_pycell");
  if (!mod) { PyErr_Print(); return 2; }
  g_run = PyObject_GetAttrString(mod, "run");
  Py_DECREF(mod);
  if (!g_run) { PyErr_Print(); return 3; }
  return 0;
}

/* Runs one request. code/meta are guest buffers the host filled; meta is a JSON
 * object with optional filename/argv (may be empty). Returns the address of the
 * {ptr,len} view of the JSON result, or 0 if the runner itself failed. */
EXPORT(pycell_exec) void *pycell_exec(const char *code, uint32_t code_len,
                                      const char *meta, uint32_t meta_len, uint32_t flags) {
  Py_CLEAR(g_result);
  g_result_view.ptr = g_result_view.len = 0;
  PyObject *r = PyObject_CallFunction(g_run, "y#y#I", code, (Py_ssize_t)code_len,
                                      meta, (Py_ssize_t)meta_len, flags);
  if (!r || !PyBytes_Check(r)) {
    Py_XDECREF(r);
    PyErr_Print();
    return NULL;
  }
  g_result = r;
  g_result_view.ptr = (uint32_t)(uintptr_t)PyBytes_AS_STRING(r);
  g_result_view.len = (uint32_t)PyBytes_GET_SIZE(r);
  return &g_result_view;
}
