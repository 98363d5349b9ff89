# Writes OUTPUT: a C++ file defining avsync::server::<FUNCTION>() (declared in HEADER), a
# span of EmbeddedFile {name, bytes} for each file of FILES (paths under DIR separated by
# '|'), named by its path relative to DIR. Run at build time, so editing a file rebuilds the table; bytes
# are written as hex, so any file (text or binary) embeds unchanged.
string(REPLACE "|" ";" FILES "${FILES}")
set(arrays "")
set(entries "")
set(index 0)
foreach(file IN LISTS FILES)
  file(RELATIVE_PATH name "${DIR}" "${file}")
  file(READ "${file}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  # One line per 32 bytes keeps the generated file readable in a compiler error (CMake's
  # regular expressions have no {32}).
  string(REPEAT "0x[0-9a-f][0-9a-f]," 32 line)
  string(REGEX REPLACE "(${line})" "\\1\n    " bytes "${bytes}")
  string(APPEND arrays "constexpr unsigned char kFile${index}[${size} + 1] = {\n    ${bytes}0};\n")
  string(APPEND entries "    {\"${name}\", {reinterpret_cast<const char*>(kFile${index}), ${size}}},\n")
  math(EXPR index "${index} + 1")
endforeach()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${DIR} by cmake/embed_files.cmake; do not edit.\n"
  "#include \"${HEADER}\"\n\n"
  "namespace avsync::server {\nnamespace {\n${arrays}\n"
  "const EmbeddedFile kFiles[] = {\n${entries}};\n}  // namespace\n\n"
  "std::span<const EmbeddedFile> ${FUNCTION}() { return kFiles; }\n\n"
  "}  // namespace avsync::server\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUTPUT}.tmp" "${OUTPUT}")
