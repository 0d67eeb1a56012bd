// Instance: one instantiation of the wasm2c-compiled guest, and its exports.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "pycell/error.h"

namespace pycell::wasi {
struct Context;
}

namespace pycell::rt {

class Budget;
class GuestMemory;

/// Pages of linear memory the guest module imports at minimum.
uint32_t guest_initial_pages();
/// CPython version compiled into the guest, e.g. "3.13.5".
const char* guest_python_version();

/// An instance's globals (stack pointer, fuel, ...) as bytes, with every host
/// pointer cleared: with a memory image, all that distinguishes one
/// interpreter state from another. Safe to serialize.
using InstanceGlobals = std::vector<uint8_t>;

/// The function table every instance of this build starts with (host code
/// pointers: never serialized). Captured once from an instantiated instance.
class TableTemplate;

/// The module instance: globals and function table, bound to a GuestMemory and
/// a WASI Context that must outlive it. Each export must be called through
/// call_guest (it may trap); the return value is 0 or the trap code.
class Instance {
 public:
  static std::unique_ptr<Instance> create();
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  /// Binds memory, budget and WASI, writes the data segments and runs _initialize.
  int instantiate(GuestMemory& memory, Budget& budget, wasi::Context& wasi, uint64_t stack_bytes);
  /// Binds memory, budget and WASI to saved globals and a table template;
  /// runs no guest code (the memory already holds the state). The table is
  /// shared, not copied: the guest never writes its table after
  /// instantiation, and indirect calls pass the caller's own instance
  /// (guest/build-guest.sh), so entries carry no per-instance pointer.
  void restore(const InstanceGlobals& globals, std::shared_ptr<const TableTemplate> table, GuestMemory& memory,
               Budget& budget, wasi::Context& wasi);
  [[nodiscard]] InstanceGlobals capture_globals() const;
  [[nodiscard]] std::shared_ptr<const TableTemplate> capture_table() const;
  /// Size of InstanceGlobals for this build (to validate loaded snapshots).
  static size_t globals_size();
  /// The guest's shadow-stack pointer (__stack_pointer). The guest is linked
  /// with its stack first (CPython's WASI build: --stack-first), so between
  /// calls everything below it is dead stack.
  [[nodiscard]] uint32_t stack_pointer() const;
  /// Fuel left in the current slice (the instrumented counter); 0 in a guest
  /// built without fuel checks.
  [[nodiscard]] int64_t fuel() const;
  void set_fuel(int64_t v);
  /// The counter itself (for Budget::check_soon); null without fuel checks.
  int64_t* fuel_counter();
  /// pycell_init: starts the interpreter; `status` is its return code.
  int init(int32_t& status, uint64_t stack_bytes);
  /// pycell_buffer: the guest's request buffer, grown to `size` (addr 0: no memory).
  int buffer(uint32_t size, uint32_t& addr, uint64_t stack_bytes);
  /// pycell_exec on the request buffer; `view` is the guest address of the
  /// {ptr,len} result view (0: failure).
  int exec(uint32_t code_len, uint32_t meta_len, uint32_t flags, uint32_t& view, uint64_t stack_bytes);
  /// pycell_freeze: makes the interpreter's current objects immortal.
  int freeze(int32_t& status, uint64_t stack_bytes);

 private:
  Instance();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pycell::rt
