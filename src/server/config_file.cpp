#include "server/config_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

namespace avsync::server {
namespace {

Error bad(std::string message) { return Error{ErrorCode::bad_request, std::move(message)}; }

std::string_view type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: return "a date or time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

// What a key's value must look like, with an example the operator can copy.
std::string expected(std::string_view key, TomlType type) {
  std::string k(key);
  switch (type) {
    case TomlType::integer: return "a TOML integer (" + k + " = 8)";
    case TomlType::string: return "a TOML string (" + k + " = \"...\")";
    case TomlType::string_array: return "an array of strings (" + k + " = [\"...\", \"...\"])";
    case TomlType::boolean:
      return "a TOML boolean (" + k + " = true)";
  }
  return "";
}

std::optional<ConfigValue> convert(const toml::node& node, TomlType type, std::uint32_t line) {
  switch (type) {
    case TomlType::integer:
      if (auto v = node.value_exact<std::int64_t>(); v && node.is_integer()) return ConfigValue{*v, line};
      return std::nullopt;
    case TomlType::string:
      if (node.is_string()) return ConfigValue{std::string(*node.value<std::string_view>()), line};
      return std::nullopt;
    case TomlType::string_array: {
      const toml::array* array = node.as_array();
      if (!array) return std::nullopt;
      std::vector<std::string> items;
      for (const toml::node& item : *array) {
        if (!item.is_string()) return std::nullopt;
        items.emplace_back(*item.value<std::string_view>());
      }
      return ConfigValue{std::move(items), line};
    }
    case TomlType::boolean:
      if (auto v = node.value_exact<bool>()) return ConfigValue{*v, line};
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

Result<ConfigFile> read_config_file(const std::string& path,
                                    const std::function<std::optional<TomlType>(std::string_view key)>& type_of) {
  // Read it ourselves so a missing or unreadable file says why (errno), not only "could
  // not open".
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad("cannot read config file " + path + ": " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return bad("cannot read config file " + path + ": " + std::strerror(errno));

  toml::table table;
  try {
    table = toml::parse(text.str(), path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return bad(path + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
               ": not valid TOML: " + std::string(e.description()));
  }

  ConfigFile file{path, {}};
  for (const auto& [key, node] : table) {
    const std::uint32_t line = key.source().begin.line;
    const std::string where = path + ":" + std::to_string(line) + ": ";
    auto type = type_of(key.str());
    if (!type) {
      return bad(where + "unknown key '" + std::string(key.str()) +
                 "' (keys are the serve flags without their dashes; see avsync-server help serve)");
    }
    auto value = convert(node, *type, line);
    if (!value) {
      return bad(where + std::string(key.str()) + " must be " + expected(key.str(), *type) + ", not " +
                 std::string(type_name(node.type())) +
                 (node.is_array() && *type == TomlType::string_array ? " holding something else" : ""));
    }
    file.values.emplace(std::string(key.str()), std::move(*value));
  }
  return file;
}

}  // namespace avsync::server
