#pragma once
// Reads the TOML file of `serve --config`: flat `key = value` lines whose keys and types
// the caller names (settings.cpp names the serve settings). toml++ stays inside
// config_file.cpp.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/error.hpp"

namespace avsync::server {

enum class TomlType { integer, string, string_array, boolean };

struct ConfigValue {
  std::variant<std::int64_t, std::string, std::vector<std::string>, bool>
      value;               // as TomlType says
  std::uint32_t line = 0;  // where the key is, from 1
};

struct ConfigFile {
  std::string path;
  std::map<std::string, ConfigValue, std::less<>> values;  // by key
};

// Reads and parses `path`. `type_of` gives the type a key's value must have, nullopt for a
// key that does not exist. A value of another type is refused, never converted: a string
// holding digits is not an integer. bad_request, the message starting "PATH:LINE:" where
// there is a line, when the file cannot be read, is not valid TOML (with toml++'s line and
// column), holds a key `type_of` does not know (tables included) or a value of the wrong
// type. Blocks on the file system; throws nothing.
Result<ConfigFile> read_config_file(const std::string& path,
                                    const std::function<std::optional<TomlType>(std::string_view key)>& type_of);

}  // namespace avsync::server
