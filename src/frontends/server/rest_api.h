// The JSON REST API under /v1 (see docs/openapi.json).
#pragma once

#include "context.h"
#include "router.h"

namespace pycell::server {

/// Adds the /v1 routes and GET /openapi.json. `ctx` must outlive `server`.
void register_rest_routes(Router& server, ServerContext& ctx);

}  // namespace pycell::server
