// The OpenAPI document (docs/openapi.json), embedded at build time.
#pragma once

#include <cstddef>

namespace pycell::server {
extern const char kOpenApiJson[];
extern const size_t kOpenApiJsonSize;
}  // namespace pycell::server
