// Guest result records: encoding exec requests for the guest runner and
// decoding (untrusted) result documents it writes back.
#pragma once

#include <cstdint>
#include <string>

#include "pycell/error.h"
#include "pycell/result.h"
#include "pycell/session.h"

namespace pycell {
namespace rt {
class GuestMemory;
}

/// The JSON "meta" document guest/python/_pycell.py reads (filename, argv).
std::string encode_exec_meta(const ExecOptions& options);

/// Reads the {ptr,len} view at `view` and the JSON it points to, validating
/// every field's type. Strings the guest controls are capped at `cap` bytes.
/// Errors: kGuest for anything malformed (a compromised guest may write anything).
Result<void> decode_guest_result(const rt::GuestMemory& memory, uint32_t view, uint64_t cap, ExecResult& out);

}  // namespace pycell
