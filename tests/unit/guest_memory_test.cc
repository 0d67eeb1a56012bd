// GuestMemory: bounds checks are overflow-safe and the cap holds.
#include "rt/guest_memory.h"

#include <gtest/gtest.h>

namespace pycell::rt {
namespace {

TEST(GuestMemory, SpanRejectsRangesPastTheEnd) {
  auto m = GuestMemory::create(1, 1 << 20);
  ASSERT_TRUE(m);
  EXPECT_TRUE((*m)->span(0, kWasmPageBytes));
  EXPECT_TRUE((*m)->span(kWasmPageBytes, 0));
  EXPECT_FALSE((*m)->span(kWasmPageBytes, 1));
  EXPECT_FALSE((*m)->span(1, kWasmPageBytes));
}

TEST(GuestMemory, SpanIsOverflowSafe) {
  auto m = GuestMemory::create(1, 1 << 20);
  ASSERT_TRUE(m);
  EXPECT_FALSE((*m)->span(0xffffffffu, 2));
  EXPECT_FALSE((*m)->span(16, UINT64_MAX));
  EXPECT_FALSE((*m)->array(0, 0x40000000u, 8));       // 8 GiB of elements
  EXPECT_FALSE((*m)->array(0, UINT64_MAX / 2, 4));    // count * size overflows
}

TEST(GuestMemory, GrowStopsAtTheCap) {
  auto m = GuestMemory::create(1, 3 * kWasmPageBytes);
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)->grow(2), 1u);
  EXPECT_EQ((*m)->size(), 3 * kWasmPageBytes);
  EXPECT_EQ((*m)->grow(1), UINT32_MAX);
  EXPECT_EQ((*m)->size(), 3 * kWasmPageBytes);
  EXPECT_EQ((*m)->peak(), 3 * kWasmPageBytes);
}

TEST(GuestMemory, GrownPagesAreZeroAndUsable) {
  auto m = GuestMemory::create(1, 4 * kWasmPageBytes);
  ASSERT_TRUE(m);
  ASSERT_NE((*m)->grow(1), UINT32_MAX);
  auto v = (*m)->load_u32(kWasmPageBytes + 12);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 0u);
  ASSERT_TRUE((*m)->store_u32(kWasmPageBytes + 12, 0xdeadbeef));
  EXPECT_EQ(*(*m)->load_u32(kWasmPageBytes + 12), 0xdeadbeefu);
}

TEST(GuestMemory, InitialLargerThanCapIsRejected) {
  auto m = GuestMemory::create(10, 2 * kWasmPageBytes);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code(), ErrorCode::kInvalidArgument);
}

TEST(GuestMemory, ReservationCoversEveryAddressPlusOffset) {
  auto m = GuestMemory::create(1, 1 << 20);
  ASSERT_TRUE(m);
  const auto* base = (*m)->rt()->data;
  // addr (u32) + offset (u32) + access size: the generated code's worst case.
  EXPECT_TRUE((*m)->reservation_contains(base + 0xffffffffull + 0xffffffffull + 15));
  EXPECT_FALSE((*m)->reservation_contains(base - 1));
}

}  // namespace
}  // namespace pycell::rt
