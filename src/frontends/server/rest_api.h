// The JSON REST API under /v1 (see docs/openapi.json).
#pragma once

#include <httplib.h>

#include "context.h"

namespace pycell::server {

/// Adds the /v1 routes and GET /openapi.json. `ctx` must outlive `server`.
void register_rest_routes(httplib::Server& server, ServerContext& ctx);

}  // namespace pycell::server
