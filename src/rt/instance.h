// Instance: one instantiation of the wasm2c-compiled guest, and its exports.
#pragma once

#include <cstdint>
#include <memory>

#include "pycell/error.h"

namespace pycell::wasi {
struct Context;
}

namespace pycell::rt {

class GuestMemory;

/// Pages of linear memory the guest module imports at minimum.
uint32_t guest_initial_pages();
/// CPython version compiled into the guest, e.g. "3.13.5".
const char* guest_python_version();

/// The module instance: globals and function table, bound to a GuestMemory and
/// a WASI Context that must outlive it. Each export must be called through
/// call_guest (it may trap); the return value is 0 or the trap code.
class Instance {
 public:
  static std::unique_ptr<Instance> create();
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  /// Binds memory and WASI, writes the data segments and runs _initialize.
  int instantiate(GuestMemory& memory, wasi::Context& wasi, uint64_t stack_bytes);
  /// pycell_init: starts the interpreter; `status` is its return code.
  int init(int32_t& status, uint64_t stack_bytes);
  int alloc(uint32_t size, uint32_t& addr, uint64_t stack_bytes);
  int free(uint32_t addr, uint64_t stack_bytes);
  /// pycell_exec; `view` is the guest address of the {ptr,len} result view (0: failure).
  int exec(uint32_t code, uint32_t code_len, uint32_t meta, uint32_t meta_len, uint32_t flags,
           uint32_t& view, uint64_t stack_bytes);

 private:
  Instance();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pycell::rt
