// The registry's renderings: every entity and field in each, the JSON shape of
// schema_doc.hpp, the CLI's wording of the rules, and docs/schema.md kept generated.

#include "core/schema_doc.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/json.hpp"
#include "core/schema.hpp"

namespace avsync {
namespace {

const FieldSpec& field_of(std::string_view entity, std::string_view name) {
  const EntitySpec* spec = find_entity(entity);
  EXPECT_NE(spec, nullptr) << entity;
  const std::size_t index = spec->field_index(name);
  EXPECT_NE(index, EntitySpec::npos) << entity << "." << name;
  return spec->fields[index];
}

// The "type" each FieldType must have in the JSON, written out here so a rename shows.
const std::map<FieldType, std::string> kTypeNames = {
    {FieldType::text, "text"},           {FieldType::money, "money"},
    {FieldType::quantity, "quantity"},   {FieldType::timestamp, "timestamp"},
    {FieldType::reference, "reference"}, {FieldType::choice, "choice"}};

JsonValue schema_json() {
  auto parsed = parse_json(render_schema_json());
  EXPECT_TRUE(parsed) << parsed.error().message;
  return parsed ? *parsed : JsonValue{};
}

std::vector<std::string> strings_of(const JsonValue* array) {
  std::vector<std::string> out;
  if (!array || !array->is_array()) return {"(not an array)"};
  for (const JsonValue& item : array->items) out.push_back(item.text);
  return out;
}

std::string text_of(const JsonValue& object, std::string_view key) {
  const JsonValue* member = object.find(key);
  return member && member->is_string() ? member->text : "(missing)";
}

// A number member's text, "(missing)" when absent.
std::string number_of(const JsonValue& object, std::string_view key) {
  const JsonValue* member = object.find(key);
  return member && member->kind == JsonValue::Kind::number ? member->text : "(missing)";
}

TEST(SchemaJson, NamesEveryEntityOfTheRegistryInOrderWithEveryFieldItsTypeAndWhetherRequired) {
  const JsonValue root = schema_json();
  EXPECT_EQ(number_of(root, "version"), std::to_string(kSchemaJsonVersion));
  const JsonValue* entities = root.find("entities");
  ASSERT_TRUE(entities && entities->is_array());
  ASSERT_EQ(entities->items.size(), all_entities().size());
  for (std::size_t e = 0; e < all_entities().size(); ++e) {
    const EntitySpec& entity = all_entities()[e];
    const JsonValue& json = entities->items[e];
    EXPECT_EQ(text_of(json, "name"), entity.name);
    const JsonValue* fields = json.find("fields");
    ASSERT_TRUE(fields && fields->is_array()) << entity.name;
    ASSERT_EQ(fields->items.size(), entity.fields.size()) << entity.name;
    for (std::size_t f = 0; f < entity.fields.size(); ++f) {
      const FieldSpec& spec = entity.fields[f];
      const JsonValue& field = fields->items[f];
      SCOPED_TRACE(std::string(entity.name) + "." + std::string(spec.name));
      EXPECT_EQ(text_of(field, "name"), spec.name);
      EXPECT_EQ(text_of(field, "type"), kTypeNames.at(spec.type));
      const JsonValue* required = field.find("required");
      const JsonValue* nullable = field.find("nullable");
      ASSERT_TRUE(required && required->kind == JsonValue::Kind::boolean);
      ASSERT_TRUE(nullable && nullable->kind == JsonValue::Kind::boolean);
      EXPECT_EQ(required->boolean, spec.required);
      EXPECT_EQ(nullable->boolean, !spec.required);
    }
  }
}

TEST(SchemaJson, EachFieldCarriesTheRulesOfItsType) {
  const JsonValue root = schema_json();
  const JsonValue* entities = root.find("entities");
  ASSERT_TRUE(entities && entities->is_array());
  ASSERT_EQ(entities->items.size(), all_entities().size());
  for (std::size_t e = 0; e < all_entities().size(); ++e) {
    const EntitySpec& entity = all_entities()[e];
    const JsonValue* fields = entities->items[e].find("fields");
    ASSERT_TRUE(fields && fields->items.size() == entity.fields.size());
    for (std::size_t f = 0; f < entity.fields.size(); ++f) {
      const FieldSpec& spec = entity.fields[f];
      const JsonValue& field = fields->items[f];
      SCOPED_TRACE(std::string(entity.name) + "." + std::string(spec.name));
      const bool text = spec.type == FieldType::text;
      const bool decimal = spec.type == FieldType::money || spec.type == FieldType::quantity;
      EXPECT_EQ(number_of(field, "maxLength"),
                text ? std::to_string(spec.max_length) : "(missing)");
      EXPECT_EQ(number_of(field, "minLength"),
                text ? std::to_string(spec.min_length) : "(missing)");
      const DecimalKind kind = spec.type == FieldType::money ? kMoney : kQuantity;
      EXPECT_EQ(number_of(field, "integerDigits"),
                decimal ? std::to_string(kind.integer_digits) : "(missing)");
      EXPECT_EQ(number_of(field, "fractionDigits"),
                decimal ? std::to_string(kind.fraction_digits) : "(missing)");
      const std::string bound = spec.bound == Bound::positive       ? "positive"
                                : spec.bound == Bound::non_negative ? "nonNegative"
                                                                    : "(missing)";
      EXPECT_EQ(text_of(field, "bound"), bound);
      if (spec.type == FieldType::choice) {
        EXPECT_EQ(strings_of(field.find("choices")),
                  std::vector<std::string>(spec.choices.begin(), spec.choices.end()));
      } else {
        EXPECT_EQ(field.find("choices"), nullptr);
      }
      EXPECT_EQ(text_of(field, "references"),
                spec.type == FieldType::reference ? std::string(spec.references) : "(missing)");
      const JsonValue* default_json = field.find("default");
      EXPECT_EQ(default_json != nullptr, spec.default_value != DefaultValue::none);
      if (spec.default_value == DefaultValue::constant) {
        ASSERT_NE(default_json, nullptr);
        EXPECT_EQ(text_of(*default_json, "kind"), "constant");
        EXPECT_EQ(text_of(*default_json, "value"), spec.default_text);
      }
    }
  }
}

TEST(SchemaJson, DefaultsThatAreNotConstantsAreNamedByKind) {
  const JsonValue root = schema_json();
  auto default_kind = [&](std::string_view entity, std::string_view field) {
    const EntitySpec* spec = find_entity(entity);
    const JsonValue& json = root.find("entities")->items[entity_index(*spec)];
    const JsonValue* default_json =
        json.find("fields")->items[spec->field_index(field)].find("default");
    return default_json ? text_of(*default_json, "kind") : "(none)";
  };
  EXPECT_EQ(default_kind("sales", "sold_at"), "clientTimestamp");
  EXPECT_EQ(default_kind("sale_items", "subtotal"), "quantityTimesUnitPrice");
  EXPECT_EQ(default_kind("sales", "status"), "constant");
  EXPECT_EQ(default_kind("sales", "total"), "(none)");
}

TEST(SchemaJson, AbonosCarriesItsPaymentsAliasAndTheOthersNone) {
  const JsonValue root = schema_json();
  for (const JsonValue& entity : root.find("entities")->items) {
    const std::vector<std::string> aliases = strings_of(entity.find("aliases"));
    if (text_of(entity, "name") == "abonos") {
      EXPECT_EQ(aliases, std::vector<std::string>{"payments"});
    } else {
      EXPECT_TRUE(aliases.empty()) << text_of(entity, "name");
    }
    for (const std::string& alias : aliases) {
      ASSERT_NE(find_entity(alias), nullptr) << alias;
      EXPECT_EQ(find_entity(alias)->name, text_of(entity, "name")) << alias;
    }
  }
}

TEST(SchemaJson, ReferencedByListsTheFieldsThatNameAnEntitysRows) {
  const JsonValue root = schema_json();
  for (const EntitySpec& entity : all_entities()) {
    const JsonValue* from = root.find("entities")->items[entity_index(entity)].find("referencedBy");
    ASSERT_TRUE(from && from->is_array()) << entity.name;
    ASSERT_EQ(from->items.size(), references_to(entity).size()) << entity.name;
    for (std::size_t i = 0; i < from->items.size(); ++i) {
      const Reference& r = references_to(entity)[i];
      EXPECT_EQ(text_of(from->items[i], "entity"), r.from->name);
      EXPECT_EQ(text_of(from->items[i], "field"), r.from->fields[r.field].name);
    }
  }
  const JsonValue* sales_from =
      root.find("entities")->items[entity_index(*find_entity("sales"))].find("referencedBy");
  EXPECT_EQ(sales_from->items.size(), 2u) << "sale_items.sale_id and abonos.sale_id";
}

// The list the registry keeps (the validator ignores each one: validation_test.cpp), and
// never a name an entity uses for a field of its own.
TEST(SchemaJson, TheServerManagedFieldsAreTheRegistrysList) {
  const std::vector<std::string> managed = strings_of(schema_json().find("serverManagedFields"));
  const std::vector<std::string> registry(server_managed_fields().begin(), server_managed_fields().end());
  EXPECT_EQ(managed, registry);
  EXPECT_NE(std::find(managed.begin(), managed.end(), "businessId"), managed.end());
  for (const EntitySpec& entity : all_entities())
    for (const FieldSpec& field : entity.fields)
      EXPECT_FALSE(is_server_managed_field(field.name)) << field.name;
}

TEST(FieldRules, AreWordedAsTheCliPrintsThem) {
  EXPECT_EQ(field_rules(field_of("sales", "total")),
            "money, a decimal of at most 12 digits before the point and 2 after, 0 or more");
  EXPECT_EQ(field_rules(field_of("customers", "credit_limit")),
            "money, a decimal of at most 12 digits before the point and 2 after, 0 or more; "
            "default 0.00");
  EXPECT_EQ(field_rules(field_of("sale_items", "quantity")),
            "quantity, a decimal of at most 12 digits before the point and 3 after, more than 0");
  EXPECT_EQ(field_rules(field_of("customers", "name")), "text, 1 to 200 characters");
  EXPECT_EQ(field_rules(field_of("customers", "notes")), "text, at most 2000 characters");
  EXPECT_EQ(field_rules(field_of("abonos", "sale_id")), "the id of a sales row");
  EXPECT_EQ(field_rules(field_of("sales", "status")),
            "one of completed|cancelled; default completed");
  EXPECT_EQ(
      field_rules(field_of("sales", "sold_at")),
      "timestamp, ISO-8601 with an offset (2024-05-01T10:00:00Z); default: the time of the change");
  EXPECT_EQ(field_rules(field_of("sale_items", "subtotal")),
            "money, a decimal of at most 12 digits before the point and 2 after, 0 or more; "
            "default: quantity × "
            "unit_price");
}

TEST(FieldValueName, NamesTheKindOfValueOrListsTheChoices) {
  EXPECT_EQ(field_value_name(field_of("customers", "name")), "TEXT");
  EXPECT_EQ(field_value_name(field_of("sales", "total")), "DECIMAL");
  EXPECT_EQ(field_value_name(field_of("sale_items", "quantity")), "DECIMAL");
  EXPECT_EQ(field_value_name(field_of("sales", "sold_at")), "TIMESTAMP");
  EXPECT_EQ(field_value_name(field_of("sales", "customer_id")), "ID");
  EXPECT_EQ(field_value_name(field_of("abonos", "method")), "cash|transfer|card|other");
}

TEST(SchemaText, ListsEveryFieldWithItsRulesUnderItsEntity) {
  const std::string text = render_schema_text();
  for (const EntitySpec& entity : all_entities()) {
    const std::size_t at = text.find("\n\n" + std::string(entity.name));
    ASSERT_NE(at, std::string::npos) << entity.name;
    for (const FieldSpec& field : entity.fields) {
      const std::string start =
          "  " + std::string(field.name) + " " + field_value_name(field) + " ";
      const std::size_t line = text.find(start, at);
      ASSERT_NE(line, std::string::npos) << entity.name << "." << field.name;
      const std::string rules =
          (field.required ? "required; " : "optional; ") + field_rules(field) + "\n";
      EXPECT_EQ(text.substr(text.find_first_not_of(' ', line + start.size()), rules.size()), rules)
          << entity.name << "." << field.name;
    }
  }
  EXPECT_NE(text.find("abonos (also: payments)\n"), std::string::npos);
  EXPECT_NE(text.find("referenced by sales.customer_id, abonos.customer_id\n"), std::string::npos);
  EXPECT_NE(
      text.find("id, business_id, businessId, created_at, updated_at, sync_status, sync_attempts"),
      std::string::npos);
}

TEST(SchemaMarkdown, HasARowForEveryFieldWithEscapedChoices) {
  const std::string markdown = render_schema_markdown();
  for (const EntitySpec& entity : all_entities()) {
    const std::size_t at = markdown.find("\n## " + std::string(entity.name) + "\n");
    ASSERT_NE(at, std::string::npos) << entity.name;
    for (const FieldSpec& field : entity.fields)
      EXPECT_NE(markdown.find("| `" + std::string(field.name) + "` | ", at), std::string::npos)
          << entity.name << "." << field.name;
  }
  EXPECT_NE(markdown.find("| `payment_type` | cash\\|credit | yes | one of cash\\|credit |"),
            std::string::npos);
  EXPECT_NE(markdown.find("Also accepted as `payments`."), std::string::npos);
  // Every table row has its five cell borders and no more: a bare '|' would add a cell.
  std::istringstream lines(markdown);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("| ")) continue;
    std::size_t borders = 0;
    for (std::size_t i = 0; i < line.size(); ++i)
      if (line[i] == '|' && (i == 0 || line[i - 1] != '\\')) ++borders;
    EXPECT_EQ(borders, 5u) << line;
  }
}

// docs/schema.md is the Markdown rendering, whole; a registry change that was not
// regenerated fails here.
TEST(SchemaMarkdown, DocsSchemaIsTheGeneratedOne) {
  const auto doc_path = std::filesystem::path(AVSYNC_SOURCE_DIR) / "docs" / "schema.md";
  std::ifstream in(doc_path);
  ASSERT_TRUE(in) << doc_path
                  << " is missing; generate it: avsync-server schema --markdown > docs/schema.md";
  std::stringstream text;
  text << in.rdbuf();
  const std::string markdown = render_schema_markdown();
  EXPECT_NE(markdown.substr(0, 200).find("avsync-server schema --markdown > docs/schema.md"),
            std::string::npos)
      << "its first lines say how it is generated";
  EXPECT_TRUE(text.str() == markdown)
      << "docs/schema.md differs from the registry's rendering; regenerate it: "
         "avsync-server schema --markdown > docs/schema.md";
}

}  // namespace
}  // namespace avsync
