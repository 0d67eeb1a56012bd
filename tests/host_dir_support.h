// Shared helpers for tests that give the guest host directories: a temporary
// tree per test, and whole-file reads and writes on the host side.
#pragma once

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace pycell::testing {

namespace fs = std::filesystem;

/// A host directory tree for one test, removed with everything in it.
struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/pycell-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

inline void put(const fs::path& p, const std::string& data) { std::ofstream(p, std::ios::binary) << data; }

inline std::string get(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The names in a host directory, sorted.
inline std::vector<std::string> host_names(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace pycell::testing
