#include "core/schema.hpp"

#include <algorithm>
#include <array>
#include <vector>

namespace avsync {
namespace {

constexpr std::string_view kPaymentTypes[] = {"cash", "credit"};
constexpr std::string_view kSaleStatuses[] = {"completed", "cancelled"};
constexpr std::string_view kPaymentMethods[] = {"cash", "transfer", "card", "other"};

// Lengths the protocol leaves open are bounded generously so one row stays small.
constexpr std::size_t kShortText = 200;
constexpr std::size_t kLongText = 2000;

FieldSpec text(std::string_view name, std::size_t max, bool required = false) {
  return {.name = name, .type = FieldType::text, .required = required,
          .min_length = required ? 1u : 0u, .max_length = max};
}
FieldSpec decimal(std::string_view name, FieldType type, Bound bound, bool required = false) {
  return {.name = name, .type = type, .required = required, .bound = bound};
}
FieldSpec reference(std::string_view name, std::string_view target, bool required = false) {
  return {.name = name, .type = FieldType::reference, .required = required, .references = target};
}
FieldSpec timestamp_defaulting_to_client(std::string_view name) {
  return {.name = name, .type = FieldType::timestamp,
          .default_value = DefaultValue::client_timestamp};
}
template <std::size_t N>
FieldSpec choice(std::string_view name, const std::string_view (&choices)[N], bool required,
                 std::string_view default_text = {}) {
  return {.name = name, .type = FieldType::choice, .required = required, .choices = choices,
          .default_value = default_text.empty() ? DefaultValue::none : DefaultValue::constant,
          .default_text = default_text};
}

const FieldSpec kCustomerFields[] = {
    text("name", kShortText, true),
    text("phone", kShortText),
    text("email", kShortText),
    text("address", kLongText),
    text("notes", kLongText),
    {.name = "credit_limit", .type = FieldType::money, .bound = Bound::non_negative,
     .default_value = DefaultValue::constant, .default_text = "0.00"},
};

const FieldSpec kSaleFields[] = {
    reference("customer_id", "customers"),
    decimal("total", FieldType::money, Bound::non_negative, true),
    choice("payment_type", kPaymentTypes, true),
    choice("status", kSaleStatuses, false, "completed"),
    timestamp_defaulting_to_client("sold_at"),
    text("notes", kLongText),
};

const FieldSpec kSaleItemFields[] = {
    reference("sale_id", "sales", true),
    text("product_name", kShortText, true),
    text("product_id", kShortText),
    decimal("quantity", FieldType::quantity, Bound::positive, true),
    decimal("unit_price", FieldType::money, Bound::non_negative, true),
    {.name = "subtotal", .type = FieldType::money, .bound = Bound::non_negative,
     .default_value = DefaultValue::quantity_times_unit_price},
};

const FieldSpec kAbonoFields[] = {
    reference("customer_id", "customers", true),
    reference("sale_id", "sales"),
    decimal("amount", FieldType::money, Bound::positive, true),
    choice("method", kPaymentMethods, false, "cash"),
    timestamp_defaulting_to_client("paid_at"),
    text("notes", kLongText),
};

const FieldSpec kDistribucionFields[] = {
    text("product_name", kShortText, true),
    text("product_id", kShortText),
    decimal("quantity", FieldType::quantity, Bound::positive, true),
    text("seller", kShortText),
    text("route", kShortText),
    timestamp_defaulting_to_client("distributed_at"),
    text("notes", kLongText),
};

constexpr std::string_view kAbonoAliases[] = {"payments"};

const EntitySpec kEntities[] = {
    {"customers", kCustomerFields},          {"sales", kSaleFields},
    {"sale_items", kSaleItemFields},         {"abonos", kAbonoFields, kAbonoAliases},
    {"distribuciones", kDistribucionFields},
};

constexpr std::string_view kServerManaged[] = {
    "id", "business_id", "businessId", "created_at", "updated_at", "sync_status", "sync_attempts"};

// references_to() for each entity, computed once from the fields above.
const std::array<std::vector<Reference>, std::size(kEntities)>& reference_index() {
  static const auto index = [] {
    std::array<std::vector<Reference>, std::size(kEntities)> out;
    for (const EntitySpec& from : kEntities)
      for (std::size_t f = 0; f < from.fields.size(); ++f)
        if (from.fields[f].type == FieldType::reference)
          for (std::size_t t = 0; t < std::size(kEntities); ++t)
            if (kEntities[t].name == from.fields[f].references) out[t].push_back({&from, f});
    return out;
  }();
  return index;
}

}  // namespace

std::size_t EntitySpec::field_index(std::string_view field_name) const {
  for (std::size_t i = 0; i < fields.size(); ++i)
    if (fields[i].name == field_name) return i;
  return npos;
}

std::span<const EntitySpec> all_entities() { return kEntities; }

std::size_t entity_index(const EntitySpec& entity) { return static_cast<std::size_t>(&entity - kEntities); }

const EntitySpec* find_entity(std::string_view name) {
  for (const EntitySpec& e : kEntities)
    if (e.name == name || std::ranges::find(e.aliases, name) != e.aliases.end()) return &e;
  return nullptr;
}

std::span<const Reference> references_to(const EntitySpec& target) {
  return reference_index()[entity_index(target)];
}

std::span<const std::string_view> server_managed_fields() { return kServerManaged; }

bool is_server_managed_field(std::string_view name) {
  return std::ranges::find(kServerManaged, name) != std::end(kServerManaged);
}

}  // namespace avsync
