// pycell's implementation of wasm2c's runtime API (wasm-rt.h), replacing the
// stock wasm-rt-impl.c: traps unwind to the per-thread guest call boundary
// (guest_call.cc), memory growth obeys the session's cap, and nothing here
// installs process-wide state behind the embedder's back.
#include <wasm-rt.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "rt/guest_memory.h"
#include "rt/trap.h"

using pycell::rt::GuestMemory;

namespace {

struct FuncType {
  std::vector<wasm_rt_type_t> params, results;
  bool operator==(const FuncType&) const = default;
};
std::mutex g_types_mu;
std::vector<FuncType> g_types;

[[noreturn]] void unsupported(const char* what) {
  // This guest is built without these features; reaching here is a host bug.
  std::fprintf(stderr, "pycell: wasm runtime: %s is not supported\n", what);
  std::abort();
}

}  // namespace

extern "C" {

void wasm_rt_init(void) {}
bool wasm_rt_is_initialized(void) { return true; }
void wasm_rt_free(void) {}

void wasm_rt_trap(wasm_rt_trap_t code) { pycell::rt::raise_trap(pycell::rt::from_wasm(code)); }

const char* wasm_rt_strerror(wasm_rt_trap_t trap) {
  switch (trap) {
    case WASM_RT_TRAP_NONE: return "no error";
    case WASM_RT_TRAP_OOB: return "out of bounds memory access";
    case WASM_RT_TRAP_INT_OVERFLOW: return "integer overflow";
    case WASM_RT_TRAP_DIV_BY_ZERO: return "integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
    case WASM_RT_TRAP_UNREACHABLE: return "unreachable executed";
    case WASM_RT_TRAP_CALL_INDIRECT: return "invalid call_indirect";
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION: return "uncaught exception";
    case WASM_RT_TRAP_EXHAUSTION: return "call stack exhausted";
  }
  return "unknown trap";
}

// Type ids must be equal for equal signatures across all instances and threads.
uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  FuncType t;
  va_list ap;
  va_start(ap, results);
  for (uint32_t i = 0; i < params; ++i) t.params.push_back(static_cast<wasm_rt_type_t>(va_arg(ap, int)));
  for (uint32_t i = 0; i < results; ++i) t.results.push_back(static_cast<wasm_rt_type_t>(va_arg(ap, int)));
  va_end(ap);
  std::lock_guard<std::mutex> lock(g_types_mu);
  for (size_t i = 0; i < g_types.size(); ++i) {
    if (g_types[i] == t) return static_cast<uint32_t>(i + 1);
  }
  g_types.push_back(std::move(t));
  return static_cast<uint32_t>(g_types.size());
}

uint32_t wasm_rt_register_tag(uint32_t) { unsupported("exception handling"); }
void wasm_rt_load_exception(uint32_t, uint32_t, const void*) { unsupported("exception handling"); }
void wasm_rt_throw(void) { unsupported("exception handling"); }
WASM_RT_UNWIND_TARGET* wasm_rt_get_unwind_target(void) { unsupported("exception handling"); }
void wasm_rt_set_unwind_target(WASM_RT_UNWIND_TARGET*) { unsupported("exception handling"); }
uint32_t wasm_rt_exception_tag(void) { unsupported("exception handling"); }
uint32_t wasm_rt_exception_size(void) { unsupported("exception handling"); }
void* wasm_rt_exception(void) { unsupported("exception handling"); }

// The guest imports its memory (GuestMemory); a module-defined memory is a build error.
void wasm_rt_allocate_memory(wasm_rt_memory_t*, uint32_t, uint32_t) { unsupported("defined memory"); }
void wasm_rt_free_memory(wasm_rt_memory_t*) { unsupported("defined memory"); }

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* memory, uint32_t delta) {
  return GuestMemory::from_rt(memory)->grow(delta);
}

void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t* table, uint32_t elements,
                                    uint32_t max_elements) {
  table->data = static_cast<wasm_rt_funcref_t*>(std::calloc(elements ? elements : 1, sizeof(wasm_rt_funcref_t)));
  if (!table->data) std::abort();  // host out of memory at instantiation
  table->size = elements;
  table->max_size = max_elements;
}

void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t* table) {
  std::free(table->data);
  table->data = nullptr;
  table->size = 0;
}

// CPython never grows its table at run time (no dynamic linking in this build).
uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t*, uint32_t, wasm_rt_funcref_t) {
  return UINT32_MAX;
}

void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t*, uint32_t, uint32_t) {
  unsupported("externref tables");
}
void wasm_rt_free_externref_table(wasm_rt_externref_table_t*) { unsupported("externref tables"); }
uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t*, uint32_t, wasm_rt_externref_t) {
  return UINT32_MAX;
}

}  // extern "C"
