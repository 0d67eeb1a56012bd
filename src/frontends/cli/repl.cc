// repl (see repl.h): a line reader (libedit on a terminal), a completeness
// check asked of the guest's own compiler, and a signal thread that turns
// Ctrl-C into Session::cancel.
#include "repl.h"

#include <editline/readline.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result_json.h"
#include "run.h"

namespace pycell::cli {
namespace {

constexpr int kExitInterrupted = 130;  // 128 + SIGINT, as shells report it

/// SIGINT is blocked in every thread and taken by one waiting thread (no
/// async-signal-safety puzzles): while code runs it cancels the session,
/// otherwise it wakes the line reader through a pipe.
class Interrupts {
 public:
  /// Call before any other thread exists: threads inherit the blocked mask.
  Interrupts() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set_, &old_mask_);
    if (pipe2(pipe_, O_CLOEXEC | O_NONBLOCK) != 0) std::abort();  // no fds at startup: nothing works
    thread_ = std::thread([this] { wait(); });
  }
  ~Interrupts() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    pthread_kill(thread_.native_handle(), SIGINT);
    thread_.join();
    close(pipe_[0]);
    close(pipe_[1]);
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  Interrupts(const Interrupts&) = delete;
  Interrupts& operator=(const Interrupts&) = delete;

  /// From now until end(), Ctrl-C cancels `s` (borrowed).
  void begin(Session* s) {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = s;
  }
  /// Returns whether Ctrl-C came since begin().
  bool end() {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = nullptr;
    return std::exchange(hit_, false);
  }
  /// Readable after Ctrl-C at the prompt.
  int wake_fd() const { return pipe_[0]; }
  void drain() const {
    char buf[64];
    while (read(pipe_[0], buf, sizeof buf) > 0) {
    }
  }

 private:
  void wait() {
    for (;;) {
      const int sig = sigwaitinfo(&set_, nullptr);
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      if (running_ && sig == SIGINT) {
        hit_ = true;
        running_->cancel();  // also stops an exec that has not started yet
      } else if (sig == SIGINT) {
        [[maybe_unused]] ssize_t n = write(pipe_[1], "!", 1);  // a full pipe already says it
      }
    }
  }

  sigset_t set_{}, old_mask_{};
  int pipe_[2] = {-1, -1};
  std::mutex mu_;
  Session* running_ = nullptr;
  bool hit_ = false;  // Ctrl-C while running_ was set
  bool stop_ = false;
  std::thread thread_;
};

/// What one read produced.
struct Input {
  enum class Kind { kLine, kEof, kInterrupt } kind = Kind::kEof;
  std::string text;
};

// libedit's callback interface hands the line to a plain function.
std::optional<std::string>* g_line = nullptr;
bool g_line_done = false;

void on_line(char* line) {
  g_line_done = true;
  if (line) {
    *g_line = std::string(line);
    std::free(line);
  }
  rl_callback_handler_remove();  // the terminal goes back to normal while code runs
}

/// What woke a reader.
enum class Wake { kInput, kHangup, kInterrupt };

/// Waits for stdin or the interrupt pipe.
Wake wait_readable(const Interrupts& intr) {
  pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {intr.wake_fd(), POLLIN, 0}};
  while (poll(fds, 2, -1) < 0) {
    if (errno != EINTR) return Wake::kHangup;
  }
  if (fds[1].revents & POLLIN) {
    intr.drain();
    return Wake::kInterrupt;
  }
  return fds[0].revents & POLLIN ? Wake::kInput : Wake::kHangup;
}

/// Lines from a terminal (libedit: editing, history) or from a pipe or file.
class LineReader {
 public:
  LineReader(bool tty, const Interrupts& intr) : tty_(tty), intr_(intr) {
    if (!tty_) return;
    rl_catch_signals = 0;  // SIGINT belongs to the signal thread
    if (!isatty(STDOUT_FILENO)) rl_outstream = stderr;  // prompts stay out of redirected output
    using_history();
    stifle_history(1000);
    if (const char* home = std::getenv("HOME"); home && *home) {
      history_file_ = std::string(home) + "/.pycell_history";
      read_history(history_file_.c_str());
    }
  }
  ~LineReader() {
    if (history_file_.empty()) return;
    // Create it private before libedit writes it: it holds everything typed.
    if (int fd = open(history_file_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600); fd >= 0) close(fd);
    write_history(history_file_.c_str());
  }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  Input read(const char* prompt) { return tty_ ? read_tty(prompt) : read_plain(); }

  void remember(const std::string& line) {
    if (tty_ && !line.empty()) add_history(line.c_str());
  }

 private:
  Input read_tty(const char* prompt) {
    std::optional<std::string> line;
    g_line = &line;
    g_line_done = false;
    rl_callback_handler_install(prompt, on_line);
    while (!g_line_done) {
      const Wake wake = wait_readable(intr_);
      if (wake != Wake::kInput) {
        // libedit's callback never reports a hangup itself: it would spin.
        rl_callback_handler_remove();
        if (wake == Wake::kInterrupt) return {Input::Kind::kInterrupt, {}};
        return {};
      }
      // Ctrl-C flushes the terminal's input queue: what poll saw may be gone,
      // and libedit's read would then block past the interrupt.
      int pending = 0;
      if (ioctl(STDIN_FILENO, FIONREAD, &pending) != 0 || pending > 0) rl_callback_read_char();
    }
    if (!line) return {};
    return {Input::Kind::kLine, std::move(*line)};
  }

  Input read_plain() {
    for (;;) {
      if (const size_t nl = pending_.find('\n'); nl != std::string::npos) {
        Input in{Input::Kind::kLine, pending_.substr(0, nl)};
        pending_.erase(0, nl + 1);
        return in;
      }
      if (eof_) {
        if (pending_.empty()) return {};
        return {Input::Kind::kLine, std::exchange(pending_, {})};
      }
      if (wait_readable(intr_) == Wake::kInterrupt) return {Input::Kind::kInterrupt, {}};
      char buf[64 * 1024];
      const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) eof_ = true;
      else pending_.append(buf, static_cast<size_t>(n));
    }
  }

  const bool tty_;
  const Interrupts& intr_;
  std::string history_file_;
  std::string pending_;
  bool eof_ = false;
};

enum class Completeness { kComplete, kIncomplete, kInvalid, kInterrupted };

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\r\f") == std::string_view::npos; }

/// An unindented line that cannot continue the statement before it (not
/// `else:` and friends), so in a piped file it starts a new statement.
bool starts_statement(std::string_view line) {
  if (line.empty() || line[0] == ' ' || line[0] == '\t' || line[0] == '#') return false;
  for (std::string_view kw : {"else", "elif", "except", "finally"}) {
    if (!line.starts_with(kw)) continue;
    const char next = line.size() > kw.size() ? line[kw.size()] : ' ';
    if (!std::isalnum(static_cast<unsigned char>(next)) && next != '_') return false;
  }
  return true;
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) out += '\n';
    out += lines[i];
  }
  return out;
}

class Repl {
 public:
  Repl(Session& session, Interrupts& intr, bool tty, GuestOutput& output)
      : session_(session), intr_(intr), tty_(tty), reader_(tty, intr), output_(output) {}

  int loop() {
    std::vector<std::string> buffer;  // lines of an incomplete statement
    for (;;) {
      Input in = reader_.read(buffer.empty() ? ">>> " : "... ");
      if (in.kind == Input::Kind::kInterrupt) {
        std::fputs(tty_ ? "\nKeyboardInterrupt\n" : "KeyboardInterrupt\n", stderr);
        if (!tty_) return kExitInterrupted;
        buffer.clear();
        continue;
      }
      if (in.kind == Input::Kind::kEof) {
        if (tty_) std::fputc('\n', stdout);
        if (buffer.empty() || tty_) return 0;
        return run(join(buffer) + "\n").value_or(0);
      }
      if (buffer.empty() && is_blank(in.text)) continue;
      reader_.remember(in.text);
      if (!tty_ && !buffer.empty()) {
        // Piped input: blank lines do not end a block (files have them inside
        // functions); the next unindented statement does.
        if (is_blank(in.text)) {
          buffer.push_back(in.text);
          continue;
        }
        if (starts_statement(in.text)) {
          const std::string block = join(buffer) + "\n";
          const Completeness c = check(block);
          if (c == Completeness::kInterrupted) {
            std::fputs("KeyboardInterrupt\n", stderr);
            return kExitInterrupted;
          }
          if (c == Completeness::kComplete) {
            buffer.clear();
            if (auto status = run(block)) return *status;
          }
        }
      }
      buffer.push_back(std::move(in.text));
      const std::string source = join(buffer);
      const Completeness c = check(source);
      if (c == Completeness::kIncomplete) continue;
      buffer.clear();
      if (c == Completeness::kInterrupted) {
        std::fputs("KeyboardInterrupt\n", stderr);
        if (!tty_) return kExitInterrupted;
        continue;
      }
      if (auto status = run(source + "\n")) return *status;
    }
  }

  /// Makes the current state the one a cancelled or trapped run rolls back to.
  void commit() {
    if (auto snap = session_.snapshot(); !snap) {
      std::fprintf(stderr, "pycell: cannot save the session state (%s); Ctrl-C may lose it\n",
                   snap.error().message().c_str());
    }
  }

 private:
  /// Asks the guest's compiler, as Python's REPL does (codeop): is `source`
  /// a complete statement, the start of one, or an error?
  Completeness check(const std::string& source) {
    ExecOptions o;
    o.filename = "<pycell-repl>";
    const std::string code = "__import__('codeop').compile_command(" + policy::dump(nlohmann::json(source)) +
                             ", '<stdin>', 'single') is None";
    intr_.begin(&session_);
    auto r = session_.exec(code, o);
    if (intr_.end()) return Completeness::kInterrupted;
    if (!r) return Completeness::kComplete;  // the run itself will report it
    switch (r->exit_reason) {
      case ExitReason::kOk:
        return r->value_repr == "True" ? Completeness::kIncomplete : Completeness::kComplete;
      case ExitReason::kException:
        return Completeness::kInvalid;
      default:
        return Completeness::kComplete;
    }
  }

  /// Runs one statement. Returns an exit status if the REPL ends here.
  std::optional<int> run(const std::string& source) {
    ExecOptions o;
    o.filename = "<python-input-" + std::to_string(inputs_++) + ">";
    o.on_output = [this](Stream s, std::string_view b) { output_.write(s, b); };
    intr_.begin(&session_);
    output_.begin();
    auto r = session_.exec(source, o);
    output_.end();
    const bool interrupted = intr_.end();
    if (!r) return fail(r.error().message());
    switch (r->exit_reason) {
      case ExitReason::kOk:
        if (r->value_repr) output_.show(Stream::kStdout, *r->value_repr + "\n");
        break;
      case ExitReason::kException:
        break;  // the traceback is already on stderr
      case ExitReason::kMemory:
        if (!r->error) exit_status(*r, /*quiet=*/false);  // no traceback: say why
        break;
      case ExitReason::kExit:
        return r->exit_code;
      case ExitReason::kCancelled:
        std::fputs(tty_ ? "\nKeyboardInterrupt\n" : "KeyboardInterrupt\n", stderr);  // after the echoed ^C
        if (!tty_) return kExitInterrupted;  // a script stops, as Python's would
        break;
      default:
        exit_status(*r, /*quiet=*/false);  // says why
        break;
    }
    if (interrupted && r->exit_reason != ExitReason::kCancelled) {
      std::fputs("KeyboardInterrupt\n", stderr);  // it finished before the cancel took hold
      if (!tty_) return kExitInterrupted;
    }
    if (r->rolled_back) {
      std::fputs("pycell: the session was rolled back to its state before this input\n", stderr);
    } else {
      commit();
    }
    return std::nullopt;
  }

  Session& session_;
  Interrupts& intr_;
  const bool tty_;
  LineReader reader_;
  GuestOutput& output_;
  int inputs_ = 0;
};

}  // namespace

int run_repl(EngineConfig engine_config, SessionConfig session_config, const std::string& banner, bool raw) {
  Interrupts intr;  // first: every thread created later inherits the blocked SIGINT
  const bool tty = isatty(STDIN_FILENO) == 1;
  auto engine = Engine::create(std::move(engine_config));
  if (!engine) return fail(engine.error().message());
  GuestOutput output(session_config.limits.output_bytes, raw);
  auto session = Session::create(*engine, std::move(session_config));
  if (!session) return fail(session.error().message());
  if (tty) std::fprintf(stderr, "%s\n", banner.c_str());
  Repl repl(*session, intr, tty, output);
  repl.commit();  // a cold session has no state to roll back to yet
  return repl.loop();
}

}  // namespace pycell::cli
