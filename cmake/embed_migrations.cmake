# Writes OUTPUT: a C++ file defining avsync::store::<FUNCTION>() over the .sql files in DIR,
# ordered by their NNNN_ prefix. Run at build time so editing a .sql file rebuilds.
file(GLOB files "${DIR}/*.sql")
list(SORT files)
set(body "")
foreach(file IN LISTS files)
  get_filename_component(name "${file}" NAME_WE)
  string(REGEX MATCH "^([0-9]+)_(.*)$" _ "${name}")
  math(EXPR version "${CMAKE_MATCH_1}")
  file(READ "${file}" sql)
  string(APPEND body "    {${version}, \"${CMAKE_MATCH_2}\", R\"avsync_sql(${sql})avsync_sql\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from ${DIR}; do not edit.\n#include \"store/migrations.hpp\"\n\nnamespace avsync::store {\nnamespace {\nconstexpr Migration kMigrations[] = {\n${body}};\n}  // namespace\n\nstd::span<const Migration> ${FUNCTION}() { return kMigrations; }\n\n}  // namespace avsync::store\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUTPUT}.tmp" "${OUTPUT}")
