// pycell command-line tool: exec / run Python in a sandboxed session.
// Uses only the public API (include/pycell/), never src/.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "pycell/engine.h"
#include "pycell/session.h"

namespace {

// Exit statuses besides Python's own (0, 1, sys.exit(n)).
constexpr int kExitUsage = 2;
constexpr int kExitTimeout = 124;
constexpr int kExitPycellError = 125;

constexpr const char* kVersion = "0.1.0";

int fail(const std::string& msg) {
  std::fprintf(stderr, "pycell: %s\n", msg.c_str());
  return kExitPycellError;
}

void stream_out(pycell::Stream s, std::string_view bytes) {
  std::FILE* f = s == pycell::Stream::kStdout ? stdout : stderr;
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fflush(f);
}

struct Common {
  std::string stdlib;
  std::vector<std::string> extra_images;
  std::vector<std::string> env;
  uint64_t memory_mb = 0;
  pycell::Limits limits;
};

int run_code(const Common& common, const std::string& code, pycell::ExecOptions options) {
  pycell::EngineConfig ec;
  ec.stdlib_image = common.stdlib;
  ec.extra_images = common.extra_images;
  // One run per process: a cold start (~50 ms) beats building a snapshot first.
  ec.preinit = false;
  auto engine = pycell::Engine::create(std::move(ec));
  if (!engine) return fail(engine.error().message());
  pycell::SessionConfig sc;
  sc.env = common.env;
  sc.limits = common.limits;
  if (common.memory_mb) sc.limits.memory_bytes = common.memory_mb << 20;
  options.on_output = stream_out;
  options.run_atexit = true;
  auto result = pycell::Session::run_once(*engine, code, options, std::move(sc));
  if (!result) return fail(result.error().message());
  switch (result->exit_reason) {
    case pycell::ExitReason::kOk:
    case pycell::ExitReason::kException:
    case pycell::ExitReason::kExit:
    case pycell::ExitReason::kMemory:
      return result->exit_code;
    case pycell::ExitReason::kTimeout:
      std::fprintf(stderr, "pycell: time limit reached\n");
      return kExitTimeout;
    case pycell::ExitReason::kTrap:
      return fail("guest trapped: " + std::string(pycell::to_string(result->trap)));
    default:
      return fail("run stopped: " + std::string(pycell::to_string(result->exit_reason)));
  }
}

/// Index of FILE in `pycell [opts] run [opts] FILE ARGS...`, or argc: like
/// `python FILE ARGS`, everything from FILE on belongs to the script, so it is
/// kept away from option parsing. `value_options` take a separate value.
int find_run_file(int argc, char** argv, const std::vector<std::string>& value_options) {
  bool after_run = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (!after_run) {
      if (a == "run") after_run = true;
      else if (std::find(value_options.begin(), value_options.end(), a) != value_options.end()) ++i;
      continue;
    }
    if (a == "--") return i + 1;
    if (a.empty() || a[0] != '-' || a == "-") return i;
    if (std::find(value_options.begin(), value_options.end(), a) != value_options.end()) ++i;
  }
  return argc;
}

bool read_all(std::istream& in, std::string& out) {
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "pycell: run untrusted Python in a WebAssembly cell.\n"
      "The guest sees a read-only standard library and a private, empty /tmp: no host\n"
      "files, no network, no host environment, no subprocesses.",
      "pycell"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand
  app.set_version_flag("--version", std::string("pycell ") + kVersion + " (CPython " +
                                        pycell::Engine::python_version() + ")");
  Common common;
  app.add_option("--stdlib", common.stdlib, "Stdlib image (default: beside the executable)");
  app.add_option("--image", common.extra_images,
                 "Extra read-only image overlaid on the stdlib (repeatable), e.g. pycell-stdlib-tests.tar");
  app.add_option("--env", common.env, "NAME=VALUE visible to the guest (repeatable); nothing else is passed");
  app.add_option("--memory-mb", common.memory_mb, "Guest memory cap in MiB (default 512)");
  app.add_option("--timeout-ms", common.limits.timeout_ms,
                 "Wall-clock limit per run in ms; 0 = none (default 30000)");
  app.add_option("--fuel", common.limits.fuel, "CPU budget in fuel units (~1 per bytecode); 0 = unlimited");
  app.footer(
      "Exit status: 0 success; 1 uncaught Python exception (traceback on stderr);\n"
      "n for sys.exit(n); 2 usage error; 124 time limit; 125 pycell error, guest trap\n"
      "or other limit.");

  std::string code, input;
  auto* exec = app.add_subcommand("exec", "Run code given with -c, or read from stdin with '-'");
  auto* code_opt = exec->add_option("-c,--code", code, "Python source to run");
  exec->add_option("input", input, "'-' to read the source from standard input");
  exec->footer("Examples:\n  pycell exec -c 'print(sum(range(100)))'\n  echo 'print(1)' | pycell exec -");

  auto* run = app.add_subcommand("run", "Run a Python file FILE [ARGS...]; the host reads it and passes it in");
  run->footer(
      "Usage: pycell [OPTIONS] run [OPTIONS] FILE [ARGS...]\n"
      "FILE is read by the host (it is not mounted); ARGS become sys.argv[1:].\n"
      "Example:\n  pycell run script.py --flag value");

  std::vector<std::string> value_options;
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_type_size() != 0) {
      for (const auto& n : o->get_lnames()) value_options.push_back("--" + n);
      for (const auto& n : o->get_snames()) value_options.push_back("-" + n);
    }
  }
  const int file_at = find_run_file(argc, argv, value_options);
  const std::vector<std::string> run_tail(argv + file_at, argv + argc);
  try {
    app.parse(file_at, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }

  pycell::ExecOptions options;
  options.mode = pycell::ExecOptions::Mode::kScript;
  if (*exec) {
    const bool from_stdin = input == "-";
    if (!input.empty() && !from_stdin) {
      std::fprintf(stderr, "pycell exec: unexpected '%s' (to run a file: pycell run FILE)\n", input.c_str());
      return kExitUsage;
    }
    if (from_stdin == (code_opt->count() > 0)) {
      std::fprintf(stderr, "pycell exec: give exactly one of -c CODE or -\n");
      return kExitUsage;
    }
    if (from_stdin) {
      if (!read_all(std::cin, code)) return fail("reading standard input failed");
      options.filename = "<stdin>";
      options.argv = {"-"};
    } else {
      options.filename = "<string>";
      options.argv = {"-c"};
    }
    return run_code(common, code, std::move(options));
  }
  if (run_tail.empty()) {
    std::fprintf(stderr, "pycell run: missing FILE (see pycell run --help)\n");
    return kExitUsage;
  }
  const std::string& file = run_tail.front();
  const std::vector<std::string> script_args(run_tail.begin() + 1, run_tail.end());
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail("cannot open " + file);
  std::string source;
  if (!read_all(in, source)) return fail("reading " + file + " failed");
  options.filename = file;
  options.argv = {file};
  options.argv.insert(options.argv.end(), script_args.begin(), script_args.end());
  return run_code(common, source, std::move(options));
}
