// REST routes: stateless exec, sessions (create, exec, snapshot, restore,
// fork, reset, delete), files in and out of a session's /tmp, health.
#include "rest_api.h"

#include "base64.h"
#include "common/echo.h"
#include "common/policy.h"
#include "exec_stream.h"
#include "http_common.h"
#include "openapi_doc.h"
#include "pycell/json.h"
#include "stream_writer.h"

namespace pycell::server {
namespace {

/// Owner of every session made through the REST API: any holder of the token
/// may use any of them (MCP clients each get their own owner).
constexpr const char* kRestOwner = "rest";

/// The request body as a JSON object; an empty body is {}. On failure the
/// 400 response is already written.
std::optional<json> body_object(const std::string& text, Response& res) {
  if (text.empty()) return json::object();
  // Depth-capped before anything copies or prints it (policy errors quote values).
  std::string why;
  auto body = parse_json(text, &why);
  if (!body) {
    send_error(res, 400, "bad_request", "request body is " + why);
    return std::nullopt;
  }
  if (!body->is_object()) {
    send_error(res, 400, "bad_request", "request body must be a JSON object");
    return std::nullopt;
  }
  return body;
}

/// Reads "code", "mode" and "want_json" of an exec request.
bool exec_fields(const json& body, Response& res, std::string& code, ExecOptions& options) {
  if (!body.contains("code") || !body["code"].is_string()) {
    send_error(res, 400, "bad_request", "'code' is required and must be a string");
    return false;
  }
  code = body["code"];
  if (body.contains("mode")) {
    const json& m = body["mode"];
    if (m == "cell")
      options.mode = ExecOptions::Mode::kCell;
    else if (m == "script")
      options.mode = ExecOptions::Mode::kScript;
    else {
      send_error(res, 400, "bad_request", "'mode' must be \"cell\" or \"script\"");
      return false;
    }
  }
  if (body.contains("want_json")) {
    if (!body["want_json"].is_boolean()) {
      send_error(res, 400, "bad_request", "'want_json' must be a boolean");
      return false;
    }
    options.want_json = body["want_json"];
  }
  return true;
}

/// Applies an optional "config" object to `base`; false (400 written) if
/// invalid. What a client may set is judged against the operator's config
/// `server` (limits only up to the server's, no grants: policy::Trust::kClient),
/// as the served config schema says; `base` is `server` or the config of the
/// snapshot a session starts from, whose limits a client may have lowered
/// before and may raise again up to the server's.
bool config_field(const json& body, Response& res, const SessionConfig& server, const SessionConfig& base,
                  std::optional<SessionConfig>& out) {
  if (!body.contains("config")) return true;
  SessionConfig checked = server;
  if (auto r = policy::apply_json(checked, body["config"], policy::Trust::kClient); !r) {
    send_error(res, 400, "bad_request", "config: " + r.error().message());
    return false;
  }
  if (&base == &server) {
    out = std::move(checked);
    return true;
  }
  SessionConfig sc = base;
  if (auto r = policy::apply_json(sc, body["config"], policy::Trust::kOperator); !r) {
    // Valid against the server's config, so what it is at odds with is the
    // snapshot's (e.g. determinism disabled over a seeded snapshot).
    send_error(res, 409, "snapshot_conflict", "config does not fit the snapshot's: " + r.error().message());
    return false;
  }
  out = std::move(sc);
  return true;
}

/// The least limits.memory_bytes a session can start with: the size of the
/// engine's pre-initialized interpreter, which every new session maps whole
/// (below it, creation fails with 400). Measured once, from a fresh session.
std::optional<uint64_t> startup_memory_bytes(const Engine& engine) {
  auto session = Session::create(engine, SessionConfig());
  if (!session) return std::nullopt;
  auto snap = session->snapshot();
  if (!snap) return std::nullopt;
  return snap->memory_bytes();
}

void no_session(Response& res, const std::string& id) {
  send_error(res, 404, "not_found", "no session '" + policy::echo(id) + "' (closed, or expired after idling)");
}

/// A failure of the durable store (docs/deploy.md): 503 while it cannot be
/// reached or does not answer in time, 409 when another worker's newer write
/// fenced this one out, 500 for an entry that fails its seal; anything else
/// as send_host_error.
void send_store_error(Response& res, const Error& e) {
  switch (e.code()) {
    case ErrorCode::kIo:
      return send_error(res, 503, "store_unavailable", e.message());
    case ErrorCode::kConflict:
      return send_error(res, 409, "version_conflict", e.message());
    case ErrorCode::kCorrupt:
      return send_error(res, 500, "store_corrupt", e.message());
    default:
      return send_host_error(res, e, 429, "too_many_sessions");
  }
}

/// Exclusive use of session `id`, or nullopt with 404 (no such session) or
/// the store's failure written.
std::optional<SessionRegistry::Use> session_use(SessionRegistry& reg, const std::string& id, Response& res) {
  std::optional<Error> failure;
  auto use = reg.use(id, kRestOwner, &failure);
  if (use) return use;
  if (!failure) {
    no_session(res, id);
  } else if (failure->code() == ErrorCode::kInvalidArgument) {
    send_error(res, 500, "store_incompatible", failure->message());
  } else {
    send_store_error(res, *failure);
  }
  return std::nullopt;
}

/// Commits a change of the session held by `use` (durable store); false
/// with the failure written to `res`.
bool committed(SessionRegistry& reg, SessionRegistry::Use& use, Response& res) {
  auto r = reg.commit(use);
  if (!r) send_store_error(res, r.error());
  return static_cast<bool>(r);
}

/// Turns a run's result into the answer's JSON; false with the error
/// response written to `err` instead.
using ShapeResult = std::function<bool(Session&, const ExecResult&, json& out, Response& err)>;

/// Runs `code` in `session` and answers with the ExecResult as JSON, or, if
/// the client's Accept asks for a stream, with its output as it is written and
/// then the result (exec_stream.h). A streaming client that disconnects or
/// stops reading cancels the run. Errors after the stream has started become
/// an error event with the code and message the JSON answer would have had.
void answer_exec(const Request& req, Response& res, Session& session, std::string_view code, ExecOptions options,
                 uint64_t output_cap, const ShapeResult& shape) {
  ExecFormat format = exec_format(req.get_header_value("Accept"));
  if (format == ExecFormat::kJson) {
    auto r = session.exec(code, options);
    if (!r) return send_host_error(res, r.error(), 503, "overloaded");
    json out;
    if (shape(session, *r, out, res)) send_json(res, 200, out);
    return;
  }
  res.status = 200;
  res.set_header("Content-Type", content_type(format));
  StreamWriter& writer = start_stream(req, res);
  ExecStream events(writer, format, output_cap);
  options.on_output = [&events](Stream stream, std::string_view bytes) { events.output(stream, bytes); };
  Result<ExecResult> r = [&] {
    auto watch = writer.on_close([&session] { session.cancel(); });
    return session.exec(code, options);
  }();
  // The watch is gone: a disconnect that came after the run's last check left
  // a cancel that must not stop the session's next run.
  if (writer.closed() && (!r || r->exit_reason != ExitReason::kCancelled)) session.discard_cancel();
  Response err;
  json out;
  if (!r) {
    send_host_error(err, r.error(), 503, "overloaded");
  } else if (shape(session, *r, out, err)) {
    return events.result(out);
  }
  auto body = json::parse(err.body, nullptr, false);
  events.error(body["error"]["code"].get<std::string>(), body["error"]["message"].get<std::string>());
}

/// The "files" and "output_files" of a stateless exec: files written into
/// /tmp before the run, files read back after it.
struct InlineFiles {
  std::vector<std::pair<std::string, std::string>> in;  // path, decoded bytes
  std::vector<std::string> out;
};

/// Reads "files" ({path: base64}) and "output_files" ([path]); false with a
/// 400 written if malformed. At most `max_outputs` output paths (the
/// server's limits.tmp_files: /tmp cannot hold more files than that).
bool inline_files(const json& body, uint64_t max_outputs, Response& res, InlineFiles& files) {
  if (body.contains("files")) {
    const json& f = body["files"];
    if (!f.is_object()) {
      send_error(res, 400, "bad_request", "'files' must be an object of path: base64 content");
      return false;
    }
    for (const auto& [path, content] : f.items()) {
      std::optional<std::string> bytes;
      if (content.is_string()) bytes = base64_decode(content.get_ref<const std::string&>());
      if (!bytes) {
        send_error(res, 400, "bad_request", "files['" + policy::echo(path) + "'] is not a base64 string");
        return false;
      }
      files.in.emplace_back(path, std::move(*bytes));
    }
  }
  if (body.contains("output_files")) {
    const json& o = body["output_files"];
    if (!o.is_array() || o.size() > max_outputs ||
        !std::all_of(o.begin(), o.end(), [](const json& p) { return p.is_string(); })) {
      send_error(res, 400, "bad_request",
                 "'output_files' must be an array of at most " + std::to_string(max_outputs) + " paths under /tmp");
      return false;
    }
    for (const auto& p : o) files.out.push_back(p);
  }
  return true;
}

/// Writes the input files into `session`; false with 400 or 413 written.
bool put_inline_files(Session& session, const InlineFiles& files, Response& res) {
  for (const auto& [path, bytes] : files.in) {
    if (auto r = session.put_file(path, bytes); !r) {
      send_host_error(res, r.error(), 413, "tmp_quota_exceeded");
      return false;
    }
  }
  return true;
}

/// Adds "output_files" ({path: base64, or null unless a file under /tmp})
/// to `out`, their bytes together at most `cap` (a response is bounded like
/// a request); false with 413 written past it. A path outside /tmp or a
/// directory is null rather than an error: the run has happened, and the
/// answer says truthfully that no such file came out of it.
bool add_output_files(Session& session, const InlineFiles& files, uint64_t cap, json& out, Response& err) {
  if (files.out.empty()) return true;
  json got = json::object();
  uint64_t total = 0;
  for (const auto& path : files.out) {
    auto data = session.get_file(path);
    if (!data) {
      got[path] = nullptr;
      continue;
    }
    total += data->size();
    if (total > cap) {
      send_error(err, 413, "output_too_large",
                 "output files over the limit of " + std::to_string(cap) + " bytes in one answer");
      return false;
    }
    got[path] = base64_encode(*data);
  }
  out["output_files"] = std::move(got);
  return true;
}

void no_snapshot(Response& res, const std::string& id) {
  send_error(res, 404, "not_found", "no snapshot '" + policy::echo(id) + "'");
}

}  // namespace

void register_rest_routes(Router& server, ServerContext& ctx) {
  using Req = Request;
  using Res = Response;
  SessionRegistry& reg = ctx.sessions();
  const ServerConfig& cfg = ctx.config();
  auto post = [&](const std::string& pattern, BodyHandler h) { route_with_body(server, "POST", pattern, cfg, h); };
  auto put = [&](const std::string& pattern, BodyHandler h) { route_with_body(server, "PUT", pattern, cfg, h); };

  // Both describe the `config` this server accepts: its limits' maxima are
  // the operator's values, so the document's SessionConfig is filled in here.
  json config_schema = policy::json_schema(policy::Trust::kClient, cfg.session);
  if (auto floor = startup_memory_bytes(reg.engine())) {
    config_schema["properties"]["limits"]["properties"]["memory_bytes"]["minimum"] = *floor;
  }
  // ordered_json keeps the document's own key order.
  auto doc = nlohmann::ordered_json::parse(std::string_view(kOpenApiJson, kOpenApiJsonSize));
  auto& component = doc["components"]["schemas"]["SessionConfig"];
  component = nlohmann::ordered_json(config_schema);
  component.erase("$schema");
  doc["components"]["schemas"]["ExecRequest"]["properties"]["output_files"]["maxItems"] =
      cfg.session.limits.tmp_files;
  server.Get("/openapi.json", [text = doc.dump(2)](const Req&, Res& res) {
    res.set_content(text.data(), text.size(), "application/json");
  });

  server.Get("/v1/health", [&](const Req& req, Res& res) {
    // The guard lets health through without the token, for probes; then it
    // says nothing but its status (the config names mounts and limits).
    const char* status = ctx.stopping ? "stopping" : "ok";
    if (!token_accepted(req.get_header_value("Authorization"), cfg)) return send_json(res, 200, {{"status", status}});
    send_json(res, 200,
              {{"status", status},
               {"python_version", Engine::python_version()},
               {"version", PYCELL_VERSION},
               {"sessions", reg.size()},
               {"max_sessions", reg.max_sessions()},
               {"snapshots", reg.snapshot_count()},
               {"stateless_running", ctx.stateless_running()},
               {"max_stateless_execs", cfg.max_stateless_execs},
               {"config", policy::to_json(cfg.session)}});
  });

  server.Get("/v1/config-schema",
             [config_schema](const Req&, Res& res) { send_json(res, 200, config_schema); });

  post("/v1/exec", [&](const Req& req, Res& res, std::string& body_text) {
    auto body = body_object(body_text, res);
    if (!body) return;
    std::string code;
    ExecOptions options;
    std::optional<SessionConfig> config;
    if (!exec_fields(*body, res, code, options) || !config_field(*body, res, cfg.session, cfg.session, config)) return;
    InlineFiles files;
    if (!inline_files(*body, cfg.session.limits.tmp_files, res, files)) return;
    uint64_t output_cap = (config ? *config : cfg.session).limits.output_bytes;
    auto r = ctx.with_stateless_session(std::move(config), [&](Session& session) {
      if (!put_inline_files(session, files, res)) return;
      answer_exec(req, res, session, code, options, output_cap,
                  [&](Session& s, const ExecResult& result, json& out, Response& err) {
                    out = policy::to_json(result);
                    return add_output_files(s, files, cfg.max_body_bytes, out, err);
                  });
    });
    if (!r) return send_host_error(res, r.error(), 503, "overloaded");
  });

  post("/v1/sessions", [&](const Req& req, Res& res, std::string& body_text) {
    auto body = body_object(body_text, res);
    if (!body) return;
    SessionConfig sc = cfg.session;
    std::optional<StoredSnapshot> snap;
    if (body->contains("snapshot_id")) {
      const json& sid = (*body)["snapshot_id"];
      if (!sid.is_string()) return send_error(res, 400, "bad_request", "'snapshot_id' must be a string");
      std::optional<Error> failure;
      snap = reg.find_snapshot(sid, kRestOwner, &failure);
      if (failure) return send_store_error(res, *failure);
      if (!snap) return no_snapshot(res, sid.get<std::string>());
      sc = snap->config;
    }
    std::optional<SessionConfig> client;
    if (!config_field(*body, res, cfg.session, sc, client)) return;
    if (client) sc = std::move(*client);
    json config_out = policy::to_json(sc);
    auto id = reg.create(kRestOwner, std::move(sc), snap ? &snap->snapshot : nullptr);
    if (!id && snap && id.error().code() == ErrorCode::kInvalidArgument) {
      // The config passed its own checks; what is left is the snapshot's
      // state (e.g. its /tmp over the config's /tmp limits): a conflict.
      return send_error(res, 409, "snapshot_conflict", id.error().message());
    }
    if (!id) return send_store_error(res, id.error());
    send_json(res, 201, {{"session_id", *id}, {"config", config_out}});
  });

  server.Get("/v1/sessions", [&](const Req&, Res& res) {
    json list = json::array();
    for (const auto& s : reg.list(kRestOwner)) {
      list.push_back(
          {{"session_id", s.id}, {"age_ms", s.age_ms}, {"idle_ms", s.idle_ms}, {"execs", s.execs}, {"busy", s.busy}});
    }
    send_json(res, 200, {{"sessions", list}, {"max_sessions", reg.max_sessions()}});
  });

  post(R"(/v1/sessions/([^/]+)/exec)", [&](const Req& req, Res& res, std::string& body_text) {
    const std::string id = req.matches[1];
    auto body = body_object(body_text, res);
    if (!body) return;
    std::string code;
    ExecOptions options;
    if (!exec_fields(*body, res, code, options)) return;
    std::optional<uint64_t> expect;
    if (body->contains("expect_version")) {
      expect = policy::json_uint((*body)["expect_version"]);
      if (!expect) return send_error(res, 400, "bad_request", "'expect_version' must be a non-negative integer");
    }
    auto use = session_use(reg, id, res);
    if (!use) return;
    if (expect && *expect != use->entry().version) {
      // A retry whose first attempt was kept (or came after another change):
      // running it again would apply it twice.
      return send_error(res, 409, "version_conflict",
                        "session '" + id + "' is at version " + std::to_string(use->entry().version) + ", not " +
                            std::to_string(*expect) + ": the run was not started");
    }
    answer_exec(req, res, **use, code, options, use->entry().config.limits.output_bytes,
                [&](Session&, const ExecResult& r, json& out, Response& err) {
                  // Durable before it is answered: a result the client saw is never lost.
                  if (!committed(reg, *use, err)) return false;
                  out = policy::to_json(r);
                  out["session_id"] = id;
                  out["version"] = use->entry().version;
                  return true;
                });
    use->entry().execs++;
  });

  post(R"(/v1/sessions/([^/]+)/snapshot)", [&](const Req& req, Res& res, std::string& body_text) {
    const std::string id = req.matches[1];
    auto use = session_use(reg, id, res);
    if (!use) return;
    auto snap = (*use)->snapshot();
    if (!snap) return send_host_error(res, snap.error(), 503, "overloaded");
    uint64_t bytes = snap->memory_bytes();
    auto sid = reg.store_snapshot(kRestOwner, std::move(*snap), use->entry().config);
    if (!sid && sid.error().code() == ErrorCode::kResourceExhausted) {
      return send_host_error(res, sid.error(), 429, "too_many_snapshots");
    }
    if (!sid) return send_store_error(res, sid.error());
    send_json(res, 201, {{"snapshot_id", *sid}, {"session_id", id}, {"memory_bytes", bytes}});
  });

  post(R"(/v1/sessions/([^/]+)/restore)", [&](const Req& req, Res& res, std::string& body_text) {
    const std::string id = req.matches[1];
    auto body = body_object(body_text, res);
    if (!body) return;
    if (!body->contains("snapshot_id") || !(*body)["snapshot_id"].is_string()) {
      return send_error(res, 400, "bad_request", "'snapshot_id' is required and must be a string");
    }
    const std::string sid = (*body)["snapshot_id"];
    std::optional<Error> failure;
    auto snap = reg.find_snapshot(sid, kRestOwner, &failure);
    if (failure) return send_store_error(res, *failure);
    if (!snap) return no_snapshot(res, sid);
    auto use = session_use(reg, id, res);
    if (!use) return;
    auto r = (*use)->restore(snap->snapshot);
    if (!r) return send_host_error(res, r.error());
    if (!committed(reg, *use, res)) return;
    send_json(res, 200, {{"session_id", id}, {"snapshot_id", sid}});
  });

  post(R"(/v1/sessions/([^/]+)/fork)", [&](const Req& req, Res& res, std::string& body_text) {
    const std::string id = req.matches[1];
    auto use = session_use(reg, id, res);
    if (!use) return;
    auto child = (*use)->fork();
    if (!child) return send_host_error(res, child.error(), 503, "overloaded");
    SessionConfig sc = use->entry().config;
    auto cid = reg.adopt(kRestOwner, std::move(*child), std::move(sc));
    if (!cid) return send_store_error(res, cid.error());
    send_json(res, 201, {{"session_id", *cid}, {"forked_from", id}});
  });

  post(R"(/v1/sessions/([^/]+)/reset)", [&](const Req& req, Res& res, std::string& body_text) {
    const std::string id = req.matches[1];
    auto use = session_use(reg, id, res);
    if (!use) return;
    auto r = reg.reset(*use);
    if (!r) return send_host_error(res, r.error());
    if (!committed(reg, *use, res)) return;
    send_json(res, 200, {{"session_id", id}});
  });

  server.Delete(R"(/v1/sessions/([^/]+))", [&](const Req& req, Res& res) {
    const std::string id = req.matches[1];
    auto closed = reg.close(id, kRestOwner);
    if (!closed) return send_store_error(res, closed.error());
    if (!*closed) return no_session(res, id);
    send_json(res, 200, {{"session_id", id}, {"closed", true}});
  });

  put(R"(/v1/sessions/([^/]+)/files/(.+))", [&](const Req& req, Res& res, std::string& body_text) {
    const std::string id = req.matches[1];
    const std::string path = req.matches[2];
    auto use = session_use(reg, id, res);
    if (!use) return;
    auto r = (*use)->put_file(path, body_text);
    if (!r) return send_host_error(res, r.error(), 413, "tmp_quota_exceeded");
    if (!committed(reg, *use, res)) return;
    send_json(res, 200, {{"session_id", id}, {"path", path}, {"bytes", body_text.size()}});
  });

  server.Get(R"(/v1/sessions/([^/]+)/files)", [&](const Req& req, Res& res) {
    const std::string id = req.matches[1];
    auto use = session_use(reg, id, res);
    if (!use) return;
    auto files = (*use)->list_files();
    if (!files) return send_host_error(res, files.error());
    json list = json::array();
    for (const auto& f : *files) list.push_back({{"path", f.path}, {"directory", f.directory}, {"bytes", f.bytes}});
    send_json(res, 200, {{"session_id", id}, {"files", list}});
  });

  server.Delete(R"(/v1/sessions/([^/]+)/files/(.+))", [&](const Req& req, Res& res) {
    const std::string id = req.matches[1];
    const std::string path = req.matches[2];
    auto use = session_use(reg, id, res);
    if (!use) return;
    if (auto r = (*use)->remove_file(path); !r) return send_host_error(res, r.error());
    if (!committed(reg, *use, res)) return;
    send_json(res, 200, {{"session_id", id}, {"path", path}, {"deleted", true}});
  });

  server.Get(R"(/v1/sessions/([^/]+)/files/(.+))", [&](const Req& req, Res& res) {
    const std::string id = req.matches[1];
    const std::string path = req.matches[2];
    auto use = session_use(reg, id, res);
    if (!use) return;
    auto data = (*use)->get_file(path);
    if (!data) return send_host_error(res, data.error());
    res.status = 200;
    res.set_content(std::move(*data), "application/octet-stream");
  });

  server.Delete(R"(/v1/snapshots/([^/]+))", [&](const Req& req, Res& res) {
    const std::string sid = req.matches[1];
    auto dropped = reg.drop_snapshot(sid, kRestOwner);
    if (!dropped) return send_store_error(res, dropped.error());
    if (!*dropped) return no_snapshot(res, sid);
    send_json(res, 200, {{"snapshot_id", sid}, {"deleted", true}});
  });
}

}  // namespace pycell::server
