# Writes OUT, a C++ file defining pycell::server::kOpenApiJson from the bytes
# of IN, so docs/openapi.json is the only copy of the document.
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
string(LENGTH "${hex}" hex_len)
math(EXPR size "${hex_len} / 2")
file(WRITE "${OUT}.tmp"
  "// Generated from ${IN} by embed.cmake; do not edit.\n"
  "#include \"openapi_doc.h\"\n"
  "namespace pycell::server {\n"
  "const char kOpenApiJson[] = {${bytes}'\\0'};\n"
  "const size_t kOpenApiJsonSize = ${size};\n"
  "}  // namespace pycell::server\n")
file(RENAME "${OUT}.tmp" "${OUT}")
