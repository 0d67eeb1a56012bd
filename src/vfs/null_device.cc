// /dev/null (see null_device.h). It keeps no state, so sessions share nothing through it.
#include "vfs/null_device.h"

namespace pycell::vfs {
namespace {

class NullDevice final : public Node {
 public:
  [[nodiscard]] Stat stat() const override {
    Stat s;
    s.kind = Kind::kCharDevice;
    s.ino = ino_;
    return s;
  }
  [[nodiscard]] bool writable() const override { return true; }
  Res<size_t> pread(uint64_t, std::span<uint8_t>) const override { return size_t{0}; }
  Res<size_t> pwrite(uint64_t, std::span<const uint8_t> data) override { return data.size(); }
  // open(..., "w") truncates: there is nothing to truncate.
  Errno truncate(uint64_t) override { return Errno::kSuccess; }

 private:
  uint64_t ino_ = next_ino();
};

}  // namespace

std::shared_ptr<Node> make_null_device() { return std::make_shared<NullDevice>(); }

}  // namespace pycell::vfs
