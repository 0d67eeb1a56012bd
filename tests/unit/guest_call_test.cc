// Guest calls: faults inside guest memory and stack overflow on the guest
// stack become traps; any other fault is a host bug and is never swallowed.
#include "rt/guest_call.h"

#include <gtest/gtest.h>

#include "rt/guest_memory.h"
#include "rt/trap.h"

namespace pycell::rt {
namespace {

struct Probe {
  GuestMemory* memory;
  uint64_t offset;
};

void read_at(void* p) {
  auto* probe = static_cast<Probe*>(p);
  volatile uint8_t v = probe->memory->rt()->data[probe->offset];
  (void)v;
}

TEST(GuestCall, ReturnsZeroWhenTheGuestReturns) {
  auto m = GuestMemory::create(1, 1 << 20);
  ASSERT_TRUE(m);
  Probe p{m->get(), 100};
  EXPECT_EQ(call_guest(read_at, &p, 1 << 20, **m), 0);
}

TEST(GuestCall, AccessPastTheMemoryIsAnOutOfBoundsTrap) {
  auto m = GuestMemory::create(1, 1 << 20);
  ASSERT_TRUE(m);
  // The furthest address generated code can form: u32 address + u32 offset.
  for (uint64_t offset : {uint64_t{kWasmPageBytes}, uint64_t{1} << 32, (uint64_t{1} << 33) - 16}) {
    Probe p{m->get(), offset};
    EXPECT_EQ(to_trap_kind(call_guest(read_at, &p, 1 << 20, **m)), TrapKind::kOutOfBounds) << offset;
  }
  Probe ok{m->get(), 0};
  EXPECT_EQ(call_guest(read_at, &ok, 1 << 20, **m), 0);  // the thread is still usable
}

// Unbounded as far as the compiler can tell (the limit is never reached).
volatile int g_limit = 1 << 30;

[[gnu::noinline]] int recurse(int depth) {
  volatile char pad[256];
  pad[0] = static_cast<char>(depth);
  if (depth >= g_limit) return 0;
  return recurse(depth + 1) + pad[0];
}

void run_away(void*) { (void)recurse(0); }

TEST(GuestCall, RunawayRecursionIsAStackTrap) {
  auto m = GuestMemory::create(1, 1 << 20);
  ASSERT_TRUE(m);
  EXPECT_EQ(to_trap_kind(call_guest(run_away, nullptr, 1 << 20, **m)), TrapKind::kStackExhausted);
}

void host_call_deep(void*) {
  // Nearly all of the guest stack used, then a host function is entered.
  struct Deep {
    static void go(int n) {
      volatile char pad[4096];
      pad[0] = 1;
      if (n > 0) go(n - 1);
      else enter_host();  // must trap rather than let host code overflow
      (void)pad[0];
    }
  };
  Deep::go(70);  // ~280 KiB of a 512 KiB stack: less than kHostStackReserve (256 KiB) left
  leave_host();
}

TEST(GuestCall, HostFunctionsRefuseToRunWithoutStackReserve) {
  auto m = GuestMemory::create(1, 1 << 20);
  ASSERT_TRUE(m);
  EXPECT_EQ(to_trap_kind(call_guest(host_call_deep, nullptr, 512 << 10, **m)), TrapKind::kStackExhausted);
}

volatile uintptr_t g_wild = 16;  // not guest memory, not the guest stack

void wild_host_pointer(void*) { *reinterpret_cast<volatile int*>(g_wild) = 1; }

TEST(GuestCallDeathTest, FaultOutsideGuestMemoryIsNotSwallowed) {
  auto m = GuestMemory::create(1, 1 << 20);
  ASSERT_TRUE(m);
  EXPECT_DEATH(call_guest(wild_host_pointer, nullptr, 1 << 20, **m), "");
}

}  // namespace
}  // namespace pycell::rt
