// pycell command-line tool: exec, run, repl, the servers (mcp, serve), and the
// knobs' table (limits, config). Uses only the public API (include/pycell/)
// and the front ends' shared schema, never src/ internals.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/policy.h"
#include "options.h"
#include "pycell/engine.h"
#include "pycell/session.h"
#include "repl.h"
#include "run.h"
#include "servers.h"

namespace {

using namespace pycell::cli;

constexpr const char* kGlobalOptionsHelp =
    "Limits, grants and engine options (--timeout-ms, --memory-bytes, --mount, --env, --preload,\n"
    "...): see pycell --help; they may also follow the subcommand.\n";

constexpr const char* kExitStatusHelp =
    "Exit status: 0 success; 1 uncaught Python exception (traceback on stderr);\n"
    "n for sys.exit(n); 2 usage error; 124 time limit; 125 pycell error, guest trap\n"
    "or another limit (message on stderr); 130 repl interrupted while reading a pipe.";

/// Help footer of a subcommand that runs Python: what it does, where the
/// session options are, examples, exit statuses.
std::string program_footer(std::string_view about, std::string_view examples) {
  return std::string(about) + kGlobalOptionsHelp + "Examples:\n" + std::string(examples) + kExitStatusHelp;
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

/// Long and short names of the options of `app` that take a value.
std::vector<std::string> value_option_names(const CLI::App& app) {
  std::vector<std::string> out;
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_type_size() == 0) continue;
    for (const auto& n : o->get_lnames()) out.push_back("--" + n);
    for (const auto& n : o->get_snames()) out.push_back("-" + n);
  }
  return out;
}

bool read_all(std::istream& in, std::string& out) {
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return !in.bad();
}

/// `pycell limits`: the schema as text, Markdown (docs/cli.md), JSON, or JSON Schema.
int print_limits(bool json, bool markdown, bool schema) {
  using pycell::policy::Field;
  if (markdown) {
    std::cout << pycell::policy::markdown_table();
    return 0;
  }
  if (schema) {
    std::cout << pycell::policy::json_schema().dump(2) << "\n";
    return 0;
  }
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Field& f : pycell::policy::fields()) {
      out.push_back({{"key", f.key},
                     {"flag", f.flag},
                     {"value_name", f.value_name},
                     {"unit", f.unit},
                     {"help", f.help},
                     {"kind", f.kind == pycell::policy::Kind::kLimit   ? "limit"
                              : f.kind == pycell::policy::Kind::kGrant ? "grant"
                                                                       : "setting"},
                     {"repeatable", f.repeatable},
                     {"default", f.default_text}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  for (const Field& f : pycell::policy::fields()) {
    std::string flag = f.flag.empty() ? "(JSON only)" : std::string(f.flag);
    if (!f.value_name.empty()) flag += " " + std::string(f.value_name);
    std::printf("%-44s %-30s default %s\n    %.*s\n", flag.c_str(),
                f.key.empty() ? "(CLI only)" : std::string(f.key).c_str(), f.default_text.c_str(),
                static_cast<int>(f.help.size()), f.help.data());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "pycell: run untrusted Python in a WebAssembly cell.\n"
      "The guest sees a read-only standard library and a private, empty /tmp: no host\n"
      "files, no network, no host environment, no subprocesses, unless options grant them.",
      "pycell"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand
  const std::string version = std::string("pycell ") + PYCELL_VERSION + " (CPython " +
                              pycell::Engine::python_version() + ")";
  app.set_version_flag("--version", version);
  pycell::EngineConfig engine;
  app.add_option("--stdlib", engine.stdlib_image, "Stdlib image (default: beside the executable)")
      ->group("Engine");
  app.add_option("--image", engine.extra_images,
                 "Extra read-only image overlaid on the stdlib (repeatable), e.g. pycell-stdlib-tests.tar")
      ->allow_extra_args(false)
      ->group("Engine");
  std::vector<std::string> preload;
  app.add_option("--preload", preload,
                 "Import MODULE into the engine's start-up snapshot, so every session starts with it\n"
                 "imported (repeatable, or comma-separated; added to the default preload of json, re,\n"
                 "collections, ...); pycell does not start if one cannot be imported")
      ->type_name("MODULE[,MODULE...]")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->group("Engine");
  bool raw_output = false;
  app.add_flag("--raw-output", raw_output,
               "Write guest output to a terminal as it is. By default, when stdout or stderr is a terminal,\n"
               "control characters in guest output are shown, not obeyed (ESC as ^[, CR as ^M, U+009B as\n"
               "\\u009b; newline and tab pass), so guest output cannot drive the terminal (clipboard\n"
               "writes, screen clears, title changes). Pipes and files always get the bytes as they are.")
      ->group("Output");
  PolicyFlags policy_flags(app);
  app.footer(std::string(
                 "Options before or after the subcommand apply to the session. Sizes (BYTES) take K, M, G\n"
                 "suffixes (binary: 64M = 64 MiB). 'pycell limits' lists every limit and grant.\n"
                 "Examples:\n"
                 "  pycell exec -c 'print(sum(range(100)))'\n"
                 "  pycell --timeout-ms 2000 --memory-bytes 64M run script.py arg1\n"
                 "  pycell --mount ./data:/data:ro --env MODE=test repl\n"
                 "  pycell --allow-host api.github.com exec -c 'import urllib.request as u; "
                 "print(u.urlopen(\"https://api.github.com\").status)'\n") +
             kExitStatusHelp);

  // exec
  std::string code, input;
  bool exec_json = false;
  auto* exec = app.add_subcommand("exec", "Run code given with -c, from a FILE, or from stdin with '-'");
  auto* code_opt = exec->add_option("-c,--code", code, "Python source to run");
  exec->add_option("input", input, "FILE to run, or '-' to read the source from standard input");
  exec->add_flag("--json", exec_json, "Print the whole result (output, value, error, exit reason...) as one JSON object");
  exec->footer(program_footer("Like python -c: runs as a program in a fresh session, then exits.\n",
                              "  pycell exec -c 'print(sum(range(100)))'\n"
                              "  echo 'print(1)' | pycell exec -\n"
                              "  pycell exec --json -c '6 * 7'          # value_repr is \"42\"\n"));

  // run
  bool run_json = false;
  auto* run = app.add_subcommand("run", "Run a Python file FILE [ARGS...]; the host reads it and passes it in");
  run->add_flag("--json", run_json, "Print the whole result as one JSON object instead of streaming output");
  run->footer(program_footer("Usage: pycell [OPTIONS] run [--json] FILE [ARGS...]\n"
                             "FILE is read by the host (it is not mounted); ARGS become sys.argv[1:].\n",
                             "  pycell run script.py --flag value\n"
                             "  pycell --fuel 100000000 run --json script.py\n"));

  // repl
  auto* repl = app.add_subcommand("repl", "Interactive Python in one persistent session");
  repl->footer(program_footer(
      "Like Python's REPL: shows the value of expressions, '... ' continues an incomplete\n"
      "statement (end a block with an empty line), Ctrl-C cancels the running input (the\n"
      "session keeps everything before it) or clears the line, Ctrl-D exits. History is\n"
      "kept in ~/.pycell_history. With stdin not a terminal there are no prompts, blank lines\n"
      "do not end a block and the next unindented statement does, so a file can be piped in.\n",
      "  pycell repl\n"
      "  pycell --mount ./data:/data repl\n"
      "  printf 'x = 6\\nx * 7\\n' | pycell repl      # prints 42\n"));

  // limits, config
  bool limits_json = false, limits_markdown = false, limits_schema = false;
  auto* limits = app.add_subcommand("limits", "List every limit and grant: flag, JSON key, default, meaning");
  auto* lj = limits->add_flag("--json", limits_json, "As a JSON array");
  auto* lm = limits->add_flag("--markdown", limits_markdown, "As the Markdown table in docs/cli.md");
  auto* ls = limits->add_flag("--json-schema", limits_schema, "JSON Schema of the session config the servers accept");
  lj->excludes(lm)->excludes(ls);
  lm->excludes(ls);
  limits->footer(
      "Examples:\n"
      "  pycell limits\n"
      "  pycell limits --markdown > table.md");
  auto* config = app.add_subcommand("config", "Print the session config the options give, as JSON");
  config->footer(
      "Shows what a command line grants before running anything (secret header values are\n"
      "redacted). The servers accept the same JSON.\n"
      "Examples:\n"
      "  pycell --mount ./src:/src:pkg --allow-host pypi.org config");

  ServerCommands servers(app);

  const int file_at = find_run_file(argc, argv, value_option_names(app));
  const std::vector<std::string> run_tail(argv + file_at, argv + argc);
  try {
    app.parse(file_at, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }

  if (*limits) return print_limits(limits_json, limits_markdown, limits_schema);
  pycell::SessionConfig session;
  if (auto r = policy_flags.apply(session); !r) {
    std::fprintf(stderr, "pycell: %s\nRun with --help for more information.\n", r.error().message().c_str());
    return kExitUsage;
  }
  if (*config) {
    std::cout << pycell::policy::to_json(session).dump(2) << "\n";
    return 0;
  }
  engine.preload.insert(engine.preload.end(), preload.begin(), preload.end());
  // exec, run and repl use one session: a cold start (~50 ms) beats building
  // a snapshot first, unless --preload asks for modules in that snapshot.
  if (!servers.chosen()) engine.preinit = !preload.empty();
  if (*repl) {
    const std::string banner = version +
                               " in a sandbox: the standard library, numpy and pandas, nothing of the host unless granted.\n"
                               "Ctrl-C interrupts, Ctrl-D exits.";
    return run_repl(std::move(engine), std::move(session), banner, raw_output);
  }
  if (servers.chosen()) return servers.run(std::move(engine), std::move(session));

  pycell::ExecOptions options;
  options.mode = pycell::ExecOptions::Mode::kScript;
  std::string file;
  std::vector<std::string> script_args;
  bool json = run_json;
  if (*exec) {
    json = exec_json;
    const bool from_stdin = input == "-";
    if (input.empty() == (code_opt->count() == 0)) {
      std::fprintf(stderr, "pycell exec: give exactly one of -c CODE, FILE or - (see pycell exec --help)\n");
      return kExitUsage;
    }
    if (from_stdin) {
      if (!read_all(std::cin, code)) return fail("reading standard input failed");
      options.filename = "<stdin>";
      options.argv = {"-"};
    } else if (code_opt->count() > 0) {
      options.filename = "<string>";
      options.argv = {"-c"};
    } else {
      file = input;
    }
  } else {
    if (run_tail.empty()) {
      std::fprintf(stderr, "pycell run: missing FILE (see pycell run --help)\n");
      return kExitUsage;
    }
    file = run_tail.front();
    script_args.assign(run_tail.begin() + 1, run_tail.end());
  }
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail("cannot open " + file);
    if (!read_all(in, code)) return fail("reading " + file + " failed");
    options.filename = file;
    options.argv = {file};
    options.argv.insert(options.argv.end(), script_args.begin(), script_args.end());
  }
  return run_program(std::move(engine), std::move(session), code, std::move(options), json, raw_output);
}
