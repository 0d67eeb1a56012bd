/* Guest shim: the reactor entry points the host calls (init once, exec many, alloc/free). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define EXPORT(name) __attribute__((export_name(#name)))

/* Where the host's read-only stdlib image is mounted inside the guest. */
#define STDLIB_DIR L"/usr/local/lib/python3.13"

static PyObject *g_prepare;  /* _pycell.prepare */
static PyObject *g_finish;   /* _pycell.finish */
static PyObject *g_run_async; /* _pycell.run_async */
static PyObject *g_result;   /* bytes of the last result, kept alive until the next exec */

/* The host reads the last result through this fixed record: {pointer, length}. */
static struct { uint32_t ptr, len; } g_result_view;

/* The host's answer when a fuel slice runs out: the next slice, or its
 * negation to ask for a soft stop. It may also trap (hard stop, no fuel left). */
__attribute__((import_module("pycell_host"), import_name("fuel_refill")))
int64_t pycell_host_fuel_refill(void);

/* Host functions ("tools"): call() runs one with JSON arguments and returns
 * a status plus the length of the JSON reply the host holds; take() copies that
 * reply into a buffer of exactly that length. Two steps, so the guest sizes
 * its buffer from the host's answer and the host checks every size before it
 * copies anything. */
#define PYCELL_HOST_SOFT_STOP 0x100u /* flag in call()'s status */
__attribute__((import_module("pycell_host"), import_name("call")))
uint32_t pycell_host_call(const char *name, uint32_t name_len, const char *args, uint32_t args_len,
                          uint32_t *reply_len);
__attribute__((import_module("pycell_host"), import_name("take")))
uint32_t pycell_host_take(char *buf, uint32_t len);

/* _pycell_host.call(name: str, args: bytes) -> (status: int, reply: bytes).
 * The Python side (pycell_host, pycell_http) turns statuses into exceptions. */
static PyObject *hostcall(PyObject *self, PyObject *args) {
  (void)self;
  const char *name, *data;
  Py_ssize_t name_len, data_len;
  if (!PyArg_ParseTuple(args, "s#y#", &name, &name_len, &data, &data_len)) return NULL;
  uint32_t reply_len = 0;
  uint32_t status = pycell_host_call(name, (uint32_t)name_len, data, (uint32_t)data_len, &reply_len);
  /* The run's time ran out during the call: the soft stop, now (see below). */
  if (status & PYCELL_HOST_SOFT_STOP) {
    PyErr_SetInterruptEx(SIGXCPU);
    status &= ~PYCELL_HOST_SOFT_STOP;
  }
  PyObject *reply = PyBytes_FromStringAndSize(NULL, reply_len);
  if (!reply) {
    pycell_host_take(NULL, 0);  /* drop the host's copy */
    return NULL;
  }
  if (pycell_host_take(PyBytes_AS_STRING(reply), reply_len) != 0) {
    Py_DECREF(reply);
    PyErr_SetString(PyExc_RuntimeError, "pycell: host reply lost");
    return NULL;
  }
  /* Time spent in the host counts toward the deadline: a soft stop that came
   * due during the call is raised here, before any more guest code runs. */
  if (PyErr_CheckSignals() < 0) {
    Py_DECREF(reply);
    return NULL;
  }
  return Py_BuildValue("(IN)", status, reply);
}

static PyMethodDef hostcall_methods[] = {
    {"call", hostcall, METH_VARARGS, "call(name, args_json) -> (status, reply_json): run a host function."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef hostcall_module = {
    PyModuleDef_HEAD_INIT, "_pycell_host", "Raw channel to the host's functions (see pycell_host).", -1,
    hostcall_methods,
};

static PyObject *PyInit__pycell_host(void) { return PyModule_Create(&hostcall_module); }

/* Called by the loop headers tools/fuel instruments, with no fuel left. A soft
 * stop trips SIGXCPU's Python handler (installed by _pycell), which raises
 * TimeoutError at the next bytecode boundary; the C code running now (a regex,
 * a big-int multiply) is not interrupted, so the host follows up with a hard
 * stop if the run does not end within its grace period. */
EXPORT(pycell_fuel_exhausted) int64_t pycell_fuel_exhausted(void) {
  int64_t slice = pycell_host_fuel_refill();
  if (slice < 0) {
    PyErr_SetInterruptEx(SIGXCPU);  /* "CPU time limit exceeded"; SIGINT stays the user's */
    slice = -slice;
  }
  return slice;
}

/* The request buffer: the host writes code + meta here before pycell_exec.
 * Kept between runs, so an exec needs one guest call, not three. */
static char *g_buf;
static uint32_t g_cap;

/* Makes the request buffer hold at least `size` bytes; returns it (0: no memory). */
EXPORT(pycell_buffer) void *pycell_buffer(uint32_t size) {
  /* Give back a large buffer once requests are small again. */
  if (size > g_cap || (g_cap > (1u << 20) && size < g_cap / 4)) {
    char *n = realloc(g_buf, size ? size : 1);
    if (!n) return NULL;
    g_buf = n;
    g_cap = size ? size : 1;
  }
  return g_buf;
}

/* Sets the refcount of everything reachable from the collector's objects to
 * "immortal" (and untracks it), so that refcount traffic on the shared
 * snapshot never writes to its pages: each session then copies only the pages
 * it really changes. Called once, just before the engine's snapshot. */
extern void _Py_SetImmortal(PyObject *op);

static PyObject **g_stack;
static size_t g_len, g_size;

static int push(PyObject *o, void *unused) {
  (void)unused;
  if (o == NULL || _Py_IsImmortal(o)) return 0;
  /* Strings not already interned-immortal keep their lifecycle: interning
   * treats immortal strings specially. */
  if (PyUnicode_Check(o)) return 0;
  if (g_len == g_size) {
    size_t n = g_size ? g_size * 2 : 4096;
    PyObject **grown = realloc(g_stack, n * sizeof *grown);
    if (!grown) return -1;
    g_stack = grown;
    g_size = n;
  }
  g_stack[g_len++] = o;
  return 0;
}

EXPORT(pycell_freeze) int pycell_freeze(void) {
  PyObject *gc = PyImport_ImportModule("gc");
  PyObject *objs = gc ? PyObject_CallMethod(gc, "get_objects", NULL) : NULL;
  Py_XDECREF(gc);
  if (!objs) { PyErr_Print(); return -1; }
  int rc = 0;
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(objs) && rc == 0; i++) rc = push(PyList_GET_ITEM(objs, i), NULL);
  /* An explicit stack: the object graph is far deeper than any native stack. */
  while (rc == 0 && g_len > 0) {
    PyObject *o = g_stack[--g_len];
    if (_Py_IsImmortal(o)) continue;
    _Py_SetImmortal(o);
    traverseproc traverse = Py_TYPE(o)->tp_traverse;
    if (traverse && PyType_IS_GC(Py_TYPE(o))) rc = traverse(o, push, NULL);
  }
  free(g_stack);
  g_stack = NULL;
  g_len = g_size = 0;
  Py_DECREF(objs);
  return rc;
}

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

  if (PyImport_AppendInittab("_pycell_host", PyInit__pycell_host) != 0) return 5;

  PyConfig c;
  PyConfig_InitIsolatedConfig(&c);
  c.site_import = 1;            /* exit()/quit()/help() exist as users expect */
  c.write_bytecode = 0;         /* the stdlib is read-only and precompiled */
  c.install_signal_handlers = 0;
  c.buffered_stdio = 0;         /* output reaches the host as it is printed */
  c.parse_argv = 0;
  c.module_search_paths_set = 1;
  st = PyWideStringList_Append(&c.module_search_paths, STDLIB_DIR);
  /* Set explicitly: with module_search_paths_set, CPython would leave it None
   * (no sys._stdlib_dir, no __file__ on frozen stdlib modules). */
  if (!PyStatus_Exception(st)) st = PyConfig_SetString(&c, &c.stdlib_dir, STDLIB_DIR);
  if (!PyStatus_Exception(st)) st = PyConfig_SetString(&c, &c.program_name, L"python3.13");
  if (!PyStatus_Exception(st)) st = PyConfig_SetString(&c, &c.home, L"/usr/local");
  if (!PyStatus_Exception(st)) st = Py_InitializeFromConfig(&c);
  PyConfig_Clear(&c);
  if (PyStatus_Exception(st)) return fail(st);

  /* Relative paths land in the private scratch directory. */
  if (chdir("/tmp") != 0) return 4;

  PyObject *mod = PyImport_ImportModule("_pycell");
  if (!mod) { PyErr_Print(); return 2; }
  g_prepare = PyObject_GetAttrString(mod, "prepare");
  g_finish = PyObject_GetAttrString(mod, "finish");
  g_run_async = PyObject_GetAttrString(mod, "run_async");
  Py_DECREF(mod);
  if (!g_prepare || !g_finish || !g_run_async) { PyErr_Print(); return 3; }
  return 0;
}

/* A code object of prepare()'s that awaits at top level. */
static int awaits(PyObject *code) {
  return code != Py_None && (((PyCodeObject *)code)->co_flags & CO_COROUTINE);
}

/* Runs one request: the request buffer holds the code (code_len bytes), then
 * meta: a JSON object with optional filename/argv (may be empty). The user's code is
 * evaluated here, from C, so no runner frame sits beneath it (sys._getframe,
 * inspect.stack and tracebacks see only the user's frames). Returns the address
 * of the {ptr,len} view of the JSON result, or 0 if the runner itself failed. */
EXPORT(pycell_exec) void *pycell_exec(uint32_t code_len, uint32_t meta_len, uint32_t flags) {
  Py_CLEAR(g_result);
  g_result_view.ptr = g_result_view.len = 0;
  if (code_len > g_cap || meta_len > g_cap - code_len) return NULL;
  const char *code = g_buf, *meta = g_buf + code_len;
  /* A soft stop that landed after the previous run's code (while reporting)
   * belongs to that run: drop it. */
  if (PyErr_CheckSignals() < 0) PyErr_Clear();
  PyObject *value = NULL;
  /* prepare -> (globals, body, expr-or-None), or raises (e.g. SyntaxError). */
  PyObject *prep = PyObject_CallFunction(g_prepare, "y#y#I", code, (Py_ssize_t)code_len,
                                         meta, (Py_ssize_t)meta_len, flags);
  if (prep) {
    PyObject *globals = PyTuple_GET_ITEM(prep, 0), *body = PyTuple_GET_ITEM(prep, 1),
             *expr = PyTuple_GET_ITEM(prep, 2);
    if (awaits(body) || awaits(expr)) {
      /* A cell with top-level await runs whole, statements and trailing
       * expression, inside the session's event loop (as in IPython), so even
       * its statements before the first await see a running loop. */
      value = PyObject_CallFunctionObjArgs(g_run_async, body, expr, globals, NULL);
    } else {
      PyObject *r = PyEval_EvalCode(body, globals, globals);
      if (r) {
        Py_DECREF(r);
        if (expr != Py_None) value = PyEval_EvalCode(expr, globals, globals);
      }
    }
    Py_DECREF(prep);
    /* A soft stop requested after the code's last bytecode boundary (e.g. in a
     * sleep that was its last statement) still ends this run with TimeoutError. */
    if (!PyErr_Occurred() && PyErr_CheckSignals() < 0) Py_CLEAR(value);
  }
  PyObject *exc = PyErr_GetRaisedException();
  PyObject *r = PyObject_CallFunction(g_finish, "OOI", exc ? exc : Py_None,
                                      value ? value : Py_None, flags);
  Py_XDECREF(exc);
  Py_XDECREF(value);
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
