/* C++ exceptions in the guest (numpy's C++ parts, libc++): the module is built
 * without wasm exception handling (wasm2c 1.0.32 has none), so nothing can
 * unwind to a catch. A throw reports its type and stops the guest with a trap
 * (abort: `unreachable`), which ends the session's run as a trap, never as
 * undefined behaviour. libc++abi for wasm32 is built without these two. */
#include <stdio.h>
#include <stdlib.h>

void *__cxa_allocate_exception(size_t size) {
  void *p = malloc(size);
  if (!p) abort();
  return p;
}

void __cxa_throw(void *object, void *type_info, void (*destructor)(void *)) {
  (void)object;
  (void)destructor;
  /* Itanium ABI std::type_info: {vtable, const char *mangled name}. */
  fprintf(stderr, "pycell guest: C++ exception %s thrown; the guest cannot unwind, stopping\n",
          ((const char *const *)type_info)[1]);
  abort();
}
