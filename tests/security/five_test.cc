// The "five tests" users run against any sandbox: host files, network, host
// environment, subprocesses (each must be denied, with the exact error), and
// /tmp (which must work).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "test_support.h"

namespace pycell {
namespace {

using testing::attempt;
using testing::random_token;
using testing::run_fresh;

TEST(FiveTests, HostFileOutsideTheSandboxIsUnreachable) {
  // A canary on the host, in the host's /tmp (the guest's /tmp is its own).
  char path[] = "/tmp/pycell-canary-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string secret = random_token("pycell-secret-");
  ASSERT_EQ(write(fd, secret.data(), secret.size()), static_cast<ssize_t>(secret.size()));
  close(fd);
  const std::string p = path;

  const std::string code =
      attempt("abs", "open('" + p + "').read()") +
      attempt("dotdot", "open('../../.." + p + "').read()") +
      attempt("tmpdotdot", "open('/tmp/../../../" + p.substr(1) + "').read()") +
      attempt("passwd", "open('/etc/passwd').read()") +
      attempt("proc", "open('/proc/self/environ').read()") +
      "import os\nfound = []\n"
      "for d, _, files in os.walk('/'):\n"
      "    found += [f for f in files if 'canary' in f]\n"
      "print('walk', found)\n";
  ExecResult r = run_fresh(code);
  unlink(path);

  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.stdout_text.find(secret), std::string::npos);
  EXPECT_EQ(r.stdout_text,
            "abs FileNotFoundError ENOENT\n"
            "dotdot FileNotFoundError ENOENT\n"     // "/.." is "/": still the guest's own tree
            "tmpdotdot FileNotFoundError ENOENT\n"
            "passwd FileNotFoundError ENOENT\n"
            "proc FileNotFoundError ENOENT\n"
            "walk []\n");
}

TEST(FiveTests, NetworkConnectionsAreRefused) {
  // A real listener on loopback: the guest must not reach it.
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(lfd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(lfd, 4), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));

  const std::string code =
      "import socket, urllib.request\n" +
      attempt("socket", "socket.socket(socket.AF_INET, socket.SOCK_STREAM)") +
      attempt("connect", "socket.create_connection(('127.0.0.1', " + port + "), timeout=2)") +
      attempt("urlopen", "urllib.request.urlopen('http://127.0.0.1:" + port + "/', timeout=2)");
  ExecResult r = run_fresh(code);

  pollfd pfd{lfd, POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 200), 0) << "the listener saw a connection attempt";
  close(lfd);
  EXPECT_EQ(r.stdout_text,
            "socket OSError ENOTSUP\n"
            "connect OSError ENOTSUP\n"
            "urlopen URLError -\n")
      << r.stderr_text;
}

TEST(FiveTests, HostEnvironmentIsInvisible) {
  const std::string secret = random_token("pycell-secret-");
  ASSERT_EQ(setenv("PYCELL_TEST_SECRET", secret.c_str(), 1), 0);
  ExecResult r = run_fresh("import os\nprint(sorted(os.environ.items()))\nprint(os.getenv('PYCELL_TEST_SECRET'))\n");
  unsetenv("PYCELL_TEST_SECRET");
  EXPECT_EQ(r.stdout_text, "[]\nNone\n") << r.stderr_text;
  EXPECT_EQ(r.stdout_text.find(secret), std::string::npos);
}

TEST(FiveTests, OnlyExplicitlyPassedEnvironmentIsVisible) {
  SessionConfig c;
  c.env = {"GRANTED=yes"};
  ExecResult r = run_fresh("import os\nprint(dict(os.environ))\n", c);
  EXPECT_EQ(r.stdout_text, "{'GRANTED': 'yes'}\n") << r.stderr_text;
}

TEST(FiveTests, SubprocessesCannotBeSpawned) {
  const std::string code = "import os, subprocess\n" +
                           attempt("subprocess", "subprocess.run(['/bin/sh', '-c', 'echo pwned'])") +
                           attempt("system", "os.system('echo pwned')") +
                           attempt("fork", "os.fork()") +
                           attempt("execv", "os.execv('/bin/sh', ['sh'])") +
                           attempt("spawn", "os.posix_spawn('/bin/sh', ['sh'], {})");
  ExecResult r = run_fresh(code);
  EXPECT_EQ(r.stdout_text.find("pwned"), std::string::npos);
  EXPECT_EQ(r.stdout_text,
            "subprocess OSError ENOTSUP\n"
            "system AttributeError -\n"
            "fork AttributeError -\n"
            "execv AttributeError -\n"
            "spawn AttributeError -\n")
      << r.stderr_text;
}

TEST(FiveTests, TmpWorks) {
  ExecResult r = run_fresh(
      "import os, tempfile\n"
      "with open('/tmp/a.txt', 'w') as f: f.write('hello')\n"
      "os.mkdir('/tmp/d')\n"
      "with tempfile.NamedTemporaryFile(dir='/tmp/d', delete=False) as t: t.write(b'x' * 100000)\n"
      "print(open('/tmp/a.txt').read(), sorted(os.listdir('/tmp')), os.path.getsize(t.name))\n"
      "os.remove(t.name); os.rmdir('/tmp/d'); os.remove('a.txt')\n"
      "print(os.listdir('/tmp'), os.getcwd())\n");
  EXPECT_EQ(r.stdout_text, "hello ['a.txt', 'd'] 100000\n[] /tmp\n") << r.stderr_text;
  EXPECT_EQ(r.exit_code, 0);
}

TEST(FiveTests, TmpIsPrivateToEachSession) {
  Session a = testing::new_session();
  Session b = testing::new_session();
  ASSERT_TRUE(a.exec("open('/tmp/mine', 'w').write('a')"));
  auto r = b.exec("import os\nos.listdir('/tmp')");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->value_repr, "[]");
}

}  // namespace
}  // namespace pycell
