// Instance: the only host file that includes the generated guest header and
// calls guest exports. Each export runs through call_guest on a guest stack.
#include "rt/instance.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "pycell_guest.h"
#include "pycell_guest_info.h"
#include "rt/guest_call.h"
#include "rt/guest_memory.h"
#include "wasi/context.h"

namespace pycell::rt {

uint32_t guest_initial_pages() { return PYCELL_GUEST_INITIAL_PAGES; }
const char* guest_python_version() { return PYCELL_GUEST_PYTHON_VERSION; }

struct Instance::Impl {
  Z_pycell_instance_t inst{};
  GuestMemory* memory = nullptr;
  bool instantiated = false;  // Z_pycell_free must release what instantiate made
  std::shared_ptr<const TableTemplate> shared_table;  // a restored instance's table
};

class TableTemplate {
 public:
  std::vector<wasm_rt_funcref_t> entries;
  uint32_t max_size = 0;
};

Instance::Instance() : impl_(std::make_unique<Impl>()) {}

Instance::~Instance() {
  if (impl_->instantiated) Z_pycell_free(&impl_->inst);
}

size_t Instance::globals_size() { return sizeof(Z_pycell_instance_t); }

InstanceGlobals Instance::capture_globals() const {
  Z_pycell_instance_t copy = impl_->inst;
  // Host pointers never leave the process, not even inside a snapshot.
  copy.Z_wasi_snapshot_preview1_instance = nullptr;
  copy.Z_pycell_host_instance = nullptr;
  copy.Z_envZ_memory = nullptr;
  copy.w2c_T0 = {};
  InstanceGlobals out(sizeof copy);
  std::memcpy(out.data(), &copy, sizeof copy);
  return out;
}

std::shared_ptr<const TableTemplate> Instance::capture_table() const {
  if (impl_->shared_table) return impl_->shared_table;
  auto t = std::make_shared<TableTemplate>();
  const wasm_rt_funcref_table_t& table = impl_->inst.w2c_T0;
  t->entries.assign(table.data, table.data + table.size);
  for (auto& e : t->entries) {
    // Instances share this table and indirect calls pass the caller's instance:
    // that is only right if the table holds nothing but this module's functions.
    if (e.func && e.module_instance != &impl_->inst) {
      std::fprintf(stderr, "pycell: guest table holds a foreign function; snapshots unsupported\n");
      std::abort();
    }
    e.module_instance = nullptr;
  }
  t->max_size = table.max_size;
  return t;
}

void Instance::restore(const InstanceGlobals& globals, std::shared_ptr<const TableTemplate> table,
                       GuestMemory& memory, Budget& budget, wasi::Context& wasi) {
  Z_pycell_instance_t& inst = impl_->inst;
  std::memcpy(&inst, globals.data(), sizeof inst);  // size checked by the snapshot loader
  inst.Z_wasi_snapshot_preview1_instance = reinterpret_cast<Z_wasi_snapshot_preview1_instance_t*>(&wasi);
  inst.Z_pycell_host_instance = reinterpret_cast<Z_pycell_host_instance_t*>(&wasi);
  inst.Z_envZ_memory = memory.rt();
  // Read-only from here on: the generated code only reads func and func_type.
  inst.w2c_T0.data = const_cast<wasm_rt_funcref_t*>(table->entries.data());
  inst.w2c_T0.size = static_cast<uint32_t>(table->entries.size());
  inst.w2c_T0.max_size = table->max_size;
  impl_->shared_table = std::move(table);
  impl_->memory = &memory;
}

std::unique_ptr<Instance> Instance::create() {
  // Registers the module's function types; the ids are process-wide.
  static std::once_flag once;
  std::call_once(once, [] { Z_pycell_init_module(); });
  return std::unique_ptr<Instance>(new Instance());
}

namespace {

// Plain-C bodies for call_guest: no objects with destructors live on the guest
// stack, so a trap may unwind them at any point.
struct InstantiateArgs {
  Z_pycell_instance_t* inst;
  Z_env_instance_t* env;
  Z_pycell_host_instance_t* host;
  Z_wasi_snapshot_preview1_instance_t* wasi;
};
void do_instantiate(void* p) {
  auto* a = static_cast<InstantiateArgs*>(p);
  Z_pycell_instantiate(a->inst, a->env, a->host, a->wasi);
  Z_pycellZ__initialize(a->inst);
}

struct InitArgs {
  Z_pycell_instance_t* inst;
  int32_t status;
};
void do_init(void* p) {
  auto* a = static_cast<InitArgs*>(p);
  a->status = static_cast<int32_t>(Z_pycellZ_pycell_init(a->inst));
}

struct BufferArgs {
  Z_pycell_instance_t* inst;
  uint32_t size, addr;
};
void do_buffer(void* p) {
  auto* a = static_cast<BufferArgs*>(p);
  a->addr = Z_pycellZ_pycell_buffer(a->inst, a->size);
}

void do_freeze(void* p) {
  auto* a = static_cast<InitArgs*>(p);
  a->status = static_cast<int32_t>(Z_pycellZ_pycell_freeze(a->inst));
}

struct ExecArgs {
  Z_pycell_instance_t* inst;
  uint32_t code_len, meta_len, flags, view;
};
void do_exec(void* p) {
  auto* a = static_cast<ExecArgs*>(p);
  a->view = Z_pycellZ_pycell_exec(a->inst, a->code_len, a->meta_len, a->flags);
}

}  // namespace

int Instance::instantiate(GuestMemory& memory, Budget& budget, wasi::Context& wasi, uint64_t stack_bytes) {
  impl_->memory = &memory;
  InstantiateArgs a{&impl_->inst, reinterpret_cast<Z_env_instance_t*>(&memory),
                    reinterpret_cast<Z_pycell_host_instance_t*>(&wasi),
                    reinterpret_cast<Z_wasi_snapshot_preview1_instance_t*>(&wasi)};
  impl_->instantiated = true;  // the table is allocated before anything can trap
  return call_guest(do_instantiate, &a, stack_bytes, memory);
}

uint32_t Instance::stack_pointer() const { return impl_->inst.w2c___stack_pointer; }

#ifdef PYCELL_GUEST_FUEL
int64_t Instance::fuel() const { return static_cast<int64_t>(impl_->inst.w2c_pycell_fuel); }
void Instance::set_fuel(int64_t v) { impl_->inst.w2c_pycell_fuel = static_cast<u64>(v); }
int64_t* Instance::fuel_counter() { return reinterpret_cast<int64_t*>(&impl_->inst.w2c_pycell_fuel); }
#else
int64_t* Instance::fuel_counter() { return nullptr; }
int64_t Instance::fuel() const { return 0; }
void Instance::set_fuel(int64_t) {}
#endif

int Instance::init(int32_t& status, uint64_t stack_bytes) {
  InitArgs a{&impl_->inst, -1};
  int trap = call_guest(do_init, &a, stack_bytes, *impl_->memory);
  status = a.status;
  return trap;
}

int Instance::buffer(uint32_t size, uint32_t& addr, uint64_t stack_bytes) {
  BufferArgs a{&impl_->inst, size, 0};
  int trap = call_guest(do_buffer, &a, stack_bytes, *impl_->memory);
  addr = a.addr;
  return trap;
}

int Instance::freeze(int32_t& status, uint64_t stack_bytes) {
  InitArgs a{&impl_->inst, -1};
  int trap = call_guest(do_freeze, &a, stack_bytes, *impl_->memory);
  status = a.status;
  return trap;
}

int Instance::exec(uint32_t code_len, uint32_t meta_len, uint32_t flags, uint32_t& view, uint64_t stack_bytes) {
  ExecArgs a{&impl_->inst, code_len, meta_len, flags, 0};
  int trap = call_guest(do_exec, &a, stack_bytes, *impl_->memory);
  view = a.view;
  return trap;
}

}  // namespace pycell::rt
