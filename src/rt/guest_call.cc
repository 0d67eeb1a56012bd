// Guest calls: a native stack per call, trap unwinding, and the fault handler
// that turns guest faults (and only guest faults) into traps.
#include "rt/guest_call.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <boost/context/detail/fcontext.hpp>

#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

#include "rt/guest_memory.h"
#include "rt/trap.h"

// Under AddressSanitizer every stack switch is announced, or ASan takes the
// guest stack for a stack overflow of the caller's and reports false errors.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PYCELL_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define PYCELL_ASAN 1
#endif
#ifdef PYCELL_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace pycell::rt {
namespace {

/// What the fault handler needs to know about the calling thread's guest call.
struct ThreadState {
  sigjmp_buf* unwind = nullptr;     // innermost guest call boundary
  const GuestMemory* memory = nullptr;
  uint8_t* stack_lo = nullptr;      // lowest usable byte of the guest stack
  uint8_t* guard_lo = nullptr;      // guard page(s) below it
  bool in_host = false;
  struct CallFrame* frame = nullptr;  // the innermost guest call's hand-off record
};
thread_local ThreadState t_state;

// A fault taken on an overflowing stack needs a stack of its own.
constexpr size_t kAltStackBytes = 64 * 1024;
constexpr size_t kAltGuardBytes = 4096;
constexpr size_t kGuardBytes = 64 * 1024;

struct sigaction g_prev_segv, g_prev_bus;
std::once_flag g_handler_once;

void chain(int sig, siginfo_t* info, void* ctx) {
  const struct sigaction& prev = sig == SIGBUS ? g_prev_bus : g_prev_segv;
  if (prev.sa_flags & SA_SIGINFO) {
    prev.sa_sigaction(sig, info, ctx);
  } else if (prev.sa_handler == SIG_IGN) {
    return;
  } else if (prev.sa_handler != SIG_DFL) {
    prev.sa_handler(sig);
  } else {
    // Returning re-executes the faulting instruction under the default action.
    signal(sig, SIG_DFL);
  }
}

void on_fault(int sig, siginfo_t* info, void* ctx) {
  ThreadState& t = t_state;
  if (t.unwind && !t.in_host) {
    auto* addr = static_cast<uint8_t*>(info->si_addr);
    if (t.memory && t.memory->reservation_contains(addr)) {
      siglongjmp(*t.unwind, static_cast<int>(from_wasm(WASM_RT_TRAP_OOB)));
    }
    if (addr >= t.guard_lo && addr < t.stack_lo) {
      siglongjmp(*t.unwind, static_cast<int>(from_wasm(WASM_RT_TRAP_EXHAUSTION)));
    }
  }
  chain(sig, info, ctx);
}

void install_handler() {
  struct sigaction sa {};
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, &g_prev_segv) != 0 || sigaction(SIGBUS, &sa, &g_prev_bus) != 0) {
    std::perror("pycell: sigaction(SIGSEGV/SIGBUS)");
    std::abort();
  }
}

/// The alternate signal stack this thread runs the fault handler on (with a
/// guard page below, so overflowing it faults), owned by the thread: disabled
/// and unmapped when the thread exits.
struct AltStack {
  void* mem = nullptr;
  bool ready = false;
  ~AltStack() {
    if (!mem) return;
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    sigaltstack(&off, nullptr);
    munmap(mem, kAltStackBytes + kAltGuardBytes);
  }
};
thread_local AltStack t_altstack;

void ensure_altstack() {
  if (t_altstack.ready) return;
  stack_t cur{};
  if (sigaltstack(nullptr, &cur) == 0 && !(cur.ss_flags & SS_DISABLE) && cur.ss_size >= kAltStackBytes) {
    t_altstack.ready = true;  // the embedder already gave this thread one
    return;
  }
  void* mem = mmap(nullptr, kAltStackBytes + kAltGuardBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED ||
      mprotect(static_cast<uint8_t*>(mem) + kAltGuardBytes, kAltStackBytes, PROT_READ | PROT_WRITE) != 0) {
    std::perror("pycell: mmap(sigaltstack)");
    std::abort();
  }
  stack_t ss{};
  ss.ss_sp = static_cast<uint8_t*>(mem) + kAltGuardBytes;
  ss.ss_size = kAltStackBytes;
  if (sigaltstack(&ss, nullptr) != 0) {
    std::perror("pycell: sigaltstack");
    std::abort();
  }
  t_altstack.mem = mem;
  t_altstack.ready = true;
}

/// A guest stack: guard pages at the low end, usable pages above. Reused
/// through a small free list so a call does not pay for fresh mappings.
struct Stack {
  uint8_t* base = nullptr;  // start of the mapping (the guard)
  size_t bytes = 0;         // usable bytes above the guard
};

std::mutex g_pool_mu;
std::vector<Stack> g_pool;
constexpr size_t kPoolMax = 16;

Stack acquire_stack(size_t bytes) {
  {
    std::lock_guard<std::mutex> lock(g_pool_mu);
    for (size_t i = 0; i < g_pool.size(); ++i) {
      if (g_pool[i].bytes == bytes) {
        Stack s = g_pool[i];
        g_pool.erase(g_pool.begin() + static_cast<long>(i));
        return s;
      }
    }
  }
  void* p = mmap(nullptr, bytes + kGuardBytes, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return {};
  auto* base = static_cast<uint8_t*>(p);
  if (mprotect(base + kGuardBytes, bytes, PROT_READ | PROT_WRITE) != 0) {
    munmap(p, bytes + kGuardBytes);
    return {};
  }
  return {base, bytes};
}

void release_stack(Stack s) {
#ifdef PYCELL_ASAN
  // A trap unwinds instrumented host frames with siglongjmp; their redzones
  // would stay poisoned for the stack's next user.
  ASAN_UNPOISON_MEMORY_REGION(s.base + kGuardBytes, s.bytes);
#endif
  std::lock_guard<std::mutex> lock(g_pool_mu);
  if (g_pool.size() < kPoolMax) {
    g_pool.push_back(s);
  } else {
    munmap(s.base, s.bytes + kGuardBytes);
  }
}

namespace fctx = boost::context::detail;

/// ASan's view of the stack being left and the one being entered.
struct StackBounds {
  const void* bottom = nullptr;
  size_t size = 0;
};

/// Announces a switch to the stack `to`. `fake` keeps the leaving context's
/// fake frames (detect_stack_use_after_return) until it is resumed; nullptr
/// for a context that is left for good.
inline void switch_begin([[maybe_unused]] void** fake, [[maybe_unused]] StackBounds to) {
#ifdef PYCELL_ASAN
  __sanitizer_start_switch_fiber(fake, to.bottom, to.size);
#endif
}

/// Completes a switch on the stack just entered; returns the stack left.
inline StackBounds switch_end([[maybe_unused]] void* fake) {
  StackBounds from;
#ifdef PYCELL_ASAN
  __sanitizer_finish_switch_fiber(fake, &from.bottom, &from.size);
#endif
  return from;
}

/// Hand-off between the caller's context and the guest context. The switch is
/// Boost.Context's fcontext: a few instructions, no signal-mask syscalls (the
/// ucontext calls it replaced cost ~3 us per guest call in three syscalls).
struct CallFrame {
  void (*fn)(void*);
  void* arg;
  int result;
  fctx::fcontext_t caller;
  // Set by run_on_host_stack: work the caller runs on its own stack, after
  // which it resumes the guest.
  void (*host_fn)(void*) = nullptr;
  void* host_arg = nullptr;
  StackBounds caller_stack{};  // for ASan: the stack of call_guest
};

void guest_entry(fctx::transfer_t from) {
  auto* f = static_cast<CallFrame*>(from.data);
  f->caller_stack = switch_end(nullptr);
  f->caller = from.fctx;
  sigjmp_buf unwind;
  sigjmp_buf* outer = t_state.unwind;
  // savemask 0: the fault handler runs with SA_NODEFER, so a trap never
  // leaves a signal blocked, and not saving the mask keeps this syscall-free.
  int code = sigsetjmp(unwind, 0);
  if (code == 0) {
    t_state.unwind = &unwind;
    f->fn(f->arg);
  }
  t_state.unwind = outer;
  t_state.in_host = false;
  f->result = code;
  switch_begin(nullptr, f->caller_stack);
  fctx::jump_fcontext(f->caller, nullptr);  // back to call_guest; never resumed
}

}  // namespace

void raise_trap(TrapCode code) {
  if (!t_state.unwind) {
    std::fprintf(stderr, "pycell: trap %d outside a guest call\n", static_cast<int>(code));
    std::abort();
  }
  siglongjmp(*t_state.unwind, static_cast<int>(code));
}

void enter_host() {
  volatile uint8_t marker = 0;
  const auto* sp = const_cast<const uint8_t*>(&marker);
  if (t_state.stack_lo && sp < t_state.stack_lo + kHostStackReserve) {
    raise_trap(from_wasm(WASM_RT_TRAP_EXHAUSTION));
  }
  t_state.in_host = true;
}

void leave_host() { t_state.in_host = false; }

void run_on_host_stack(void (*fn)(void*), void* arg) {
  CallFrame* f = t_state.frame;
  if (!f) {
    fn(arg);
    return;
  }
  f->host_fn = fn;
  f->host_arg = arg;
  void* fake = nullptr;
  switch_begin(&fake, f->caller_stack);
  const fctx::transfer_t back = fctx::jump_fcontext(f->caller, nullptr);
  f->caller_stack = switch_end(fake);
  f->caller = back.fctx;  // the caller resumed us from a new point
}

int call_guest(void (*fn)(void*), void* arg, uint64_t stack_bytes, const GuestMemory& memory) {
  std::call_once(g_handler_once, install_handler);
  ensure_altstack();
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  stack_bytes = (stack_bytes + page - 1) / page * page;
  if (stack_bytes < 2 * kHostStackReserve) stack_bytes = 2 * kHostStackReserve;

  Stack stack = acquire_stack(stack_bytes);
  if (!stack.base) return static_cast<int>(from_wasm(WASM_RT_TRAP_EXHAUSTION));

  ThreadState saved = t_state;
  t_state.memory = &memory;
  t_state.guard_lo = stack.base;
  t_state.stack_lo = stack.base + kGuardBytes;
  t_state.in_host = false;

  CallFrame frame{fn, arg, 0, nullptr};
  t_state.frame = &frame;
  // The stack grows down from its top; the finished context is simply dropped.
  fctx::fcontext_t guest = fctx::make_fcontext(stack.base + kGuardBytes + stack.bytes, stack.bytes, guest_entry);
  const StackBounds guest_stack{stack.base + kGuardBytes, stack.bytes};
  void* fake = nullptr;
  switch_begin(&fake, guest_stack);
  fctx::transfer_t t = fctx::jump_fcontext(guest, &frame);
  switch_end(fake);
  while (frame.host_fn) {  // the guest asked for host work on this stack
    void (*host_fn)(void*) = std::exchange(frame.host_fn, nullptr);
    host_fn(frame.host_arg);
    switch_begin(&fake, guest_stack);
    t = fctx::jump_fcontext(t.fctx, nullptr);
    switch_end(fake);
  }

  t_state = saved;
  release_stack(stack);
  return frame.result;
}

TrapKind to_trap_kind(int code) {
  switch (code) {
    case 0: return TrapKind::kNone;
    case WASM_RT_TRAP_OOB: return TrapKind::kOutOfBounds;
    case WASM_RT_TRAP_INT_OVERFLOW:
    case WASM_RT_TRAP_INVALID_CONVERSION: return TrapKind::kIntegerOverflow;
    case WASM_RT_TRAP_DIV_BY_ZERO: return TrapKind::kDivideByZero;
    case WASM_RT_TRAP_UNREACHABLE:
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION: return TrapKind::kUnreachable;
    case WASM_RT_TRAP_CALL_INDIRECT: return TrapKind::kIndirectCall;
    case WASM_RT_TRAP_EXHAUSTION: return TrapKind::kStackExhausted;
    default: return TrapKind::kUnknown;
  }
}

}  // namespace pycell::rt
