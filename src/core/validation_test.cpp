#include "core/validation.hpp"

#include <gtest/gtest.h>

#include "core/ids.hpp"

namespace avsync {
namespace {

constexpr const char* kId = "6f1c2a3b-0000-4000-8000-000000000001";

Result<ValidOperation> validate(const std::string& entity, const std::string& action,
                                const std::string& payload) {
  std::string body = R"({"operationId":"op","entity":")" + entity + R"(","action":")" + action +
                     R"(","entityId":")" + kId +
                     R"(","clientTimestamp":"2026-11-25T08:00:00.000Z","payload":)" + payload + "}";
  auto json = parse_json(body);
  EXPECT_TRUE(json) << body;
  return validate_operation(*json);
}

std::string error_of(const std::string& entity, const std::string& action,
                     const std::string& payload) {
  auto v = validate(entity, action, payload);
  return v ? "ok" : v.error().message;
}

std::optional<std::string> value_of(const ValidOperation& op, std::string_view field) {
  std::size_t idx = op.entity->field_index(field);
  for (const auto& a : op.assignments)
    if (a.field == idx) return a.value;
  ADD_FAILURE() << "no assignment for " << field;
  return std::nullopt;
}

TEST(Validation, MessagesNameTheEntityFieldAndRule) {
  EXPECT_EQ(error_of("sales", "insert", R"({"total": -1, "payment_type": "cash"})"),
            "sales.total: must be a decimal >= 0");
  EXPECT_EQ(error_of("sales", "insert", R"({"total": 1, "payment_type": "gift"})"),
            "sales.payment_type: must be one of 'cash' or 'credit'");
  EXPECT_EQ(error_of("sales", "insert", R"({"payment_type": "cash"})"), "sales.total: is required");
  EXPECT_EQ(error_of("abonos", "insert", R"({"customer_id": "x", "amount": 1})"),
            "abonos.customer_id: must be a UUID");
  EXPECT_EQ(error_of("abonos", "insert", std::string(R"({"customer_id": ")") + kId + R"(", "amount": 0})"),
            "abonos.amount: must be a decimal > 0");
  EXPECT_EQ(error_of("customers", "insert", R"({"name": "Ana", "colour": "red"})"),
            "customers.colour: unknown field");
  EXPECT_EQ(error_of("customers", "insert", R"({"name": ""})"), "customers.name: must not be empty");
  EXPECT_EQ(error_of("customers", "insert", R"({"name": 5})"), "customers.name: must be text");
  EXPECT_EQ(error_of("customers", "insert", R"({"name": "a\u0000b"})"),
            "customers.name: must not contain U+0000");
  EXPECT_EQ(error_of("customers", "update", R"({"name": null})"), "customers.name: must not be null");
  EXPECT_EQ(error_of("customers", "insert", R"({"name": "Ana", "credit_limit": 0.001})"),
            "customers.credit_limit: has more than 2 decimal places");
  EXPECT_EQ(error_of("distribuciones", "insert",
                     R"({"product_name": "Arroz", "quantity": 1, "distributed_at": "ayer"})"),
            "distribuciones.distributed_at: must be an ISO-8601 timestamp with a UTC offset, e.g. "
            "2026-11-25T08:00:00.000Z");
  EXPECT_EQ(error_of("widgets", "insert", "{}"), "entity: unknown entity 'widgets'");
  EXPECT_EQ(error_of("customers", "upsert", "{}"), "action: must be 'insert', 'update' or 'delete'");
  EXPECT_EQ(error_of("customers", "insert", "[]"), "payload: must be an object");
}

TEST(Validation, NameLengthCountsCharacters) {
  EXPECT_EQ(error_of("customers", "insert", R"({"name": ")" + std::string(200, 'a') + "\"}"), "ok");
  std::string two_hundred_n_tilde;
  for (int i = 0; i < 200; ++i) two_hundred_n_tilde += "\xC3\xB1";
  EXPECT_EQ(error_of("customers", "insert", R"({"name": ")" + two_hundred_n_tilde + "\"}"), "ok");
  EXPECT_EQ(error_of("customers", "insert", R"({"name": ")" + std::string(201, 'a') + "\"}"),
            "customers.name: must be at most 200 characters");
}

TEST(Validation, InsertFillsDefaults) {
  auto sale = validate("sales", "insert", R"({"total": "10", "payment_type": "credit"})");
  ASSERT_TRUE(sale);
  EXPECT_EQ(value_of(*sale, "total"), "10.00");
  EXPECT_EQ(value_of(*sale, "status"), "completed");
  EXPECT_EQ(value_of(*sale, "sold_at"), "2026-11-25T08:00:00.000Z");
  EXPECT_EQ(value_of(*sale, "customer_id"), std::nullopt);

  auto item = validate("sale_items", "insert",
                       std::string(R"({"sale_id": ")") + kId +
                           R"(", "product_name": "Pan", "quantity": 1.5, "unit_price": "2.25"})");
  ASSERT_TRUE(item);
  EXPECT_EQ(value_of(*item, "subtotal"), "3.38");  // 3.375 rounded half away from zero
  EXPECT_EQ(value_of(*item, "quantity"), "1.500");

  auto abono = validate("payments", "insert",
                        std::string(R"({"customer_id": ")") + kId + R"(", "amount": 5})");
  ASSERT_TRUE(abono);
  EXPECT_EQ(abono->entity->name, "abonos");
  EXPECT_EQ(value_of(*abono, "method"), "cash");
}

TEST(Validation, ServerManagedFieldsAreIgnored) {
  auto v = validate("customers", "insert",
                    R"({"name": "Ana", "id": "x", "business_id": "evil", "businessId": "evil",
                        "created_at": 1, "updated_at": 2, "sync_status": "x", "sync_attempts": 3})");
  ASSERT_TRUE(v) << v.error().message;
  auto json = parse_json(R"({"payload": {"name": "Ana", "businessId": "evil", "business_id": "e"}})");
  EXPECT_EQ(loggable_payload(*json), R"({"name":"Ana"})");
}

TEST(Validation, UpdateCarriesOnlyTheFieldsSent) {
  auto v = validate("customers", "update", R"({"phone": "123"})");
  ASSERT_TRUE(v);
  ASSERT_EQ(v->assignments.size(), 1u);
  EXPECT_EQ(v->assignments[0].value, "123");
  EXPECT_EQ(error_of("customers", "update", "{}"), "payload: an update must change a field");
}

TEST(Validation, DeleteIgnoresThePayload) {
  auto v = validate("customers", "delete", R"("anything")");
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->assignments.empty());
}

TEST(Validation, EnvelopeFieldsOfTheOperation) {
  auto check = [](const std::string& body) {
    auto v = validate_operation(*parse_json(body));
    return v ? "ok" : v.error().message;
  };
  EXPECT_EQ(check(R"({"entity":"customers","action":"delete","entityId":"nope","clientTimestamp":"2026-11-25T08:00:00Z"})"),
            "entityId: must be a UUID");
  EXPECT_EQ(check(std::string(R"({"entity":"customers","action":"delete","entityId":")") + kId + "\"}"),
            "clientTimestamp: is required (ISO-8601 timestamp)");
  EXPECT_EQ(check(std::string(R"({"entity":"customers","action":"delete","entityId":")") + kId +
                  R"(","clientTimestamp":"soon"})"),
            "clientTimestamp: must be an ISO-8601 timestamp with a UTC offset, e.g. "
            "2026-11-25T08:00:00.000Z");
}


TEST(Validation, ANumberOutOfNumericRangeFailsTheOperationWhereverItIs) {
  const std::string kOutOfRange =
      "a number out of range (at most 131072 digits before the decimal point and 16383 after it)";
  EXPECT_EQ(error_of("sales", "insert", R"({"total":1e99999999})"), "payload.total: " + kOutOfRange);
  EXPECT_EQ(error_of("customers", "insert", R"({"name":"A","nickname":1e99999999})"),
            "payload.nickname: " + kOutOfRange);
  EXPECT_EQ(error_of("customers", "insert", R"({"name":"A","notes":{"deep":[1,-1E-99999999]}})"),
            "payload.notes: " + kOutOfRange);
  EXPECT_EQ(error_of("customers", "delete", R"({"x":1e99999999})"), "payload.x: " + kOutOfRange);
  EXPECT_EQ(error_of("customers", "delete", "1e99999999"), "payload: " + kOutOfRange);
  // A server-managed field is ignored, and not logged, whatever it holds (§3.5).
  EXPECT_EQ(error_of("customers", "insert", R"({"name":"A","created_at":1e99999999})"), "ok");
}

// Every server-managed field of the registry is ignored in a payload (§3.5), and nothing
// else unknown is.
TEST(Validation, EveryServerManagedFieldIsIgnoredAndAnyOtherUnknownFieldRefused) {
  for (std::string_view name : server_managed_fields()) {
    auto v = validate("customers", "update", R"({"name":"A",")" + std::string(name) + R"(":"x"})");
    ASSERT_TRUE(v) << name << ": " << v.error().message;
    EXPECT_EQ(v->assignments.size(), 1u) << name << " was taken from the payload";
  }
  EXPECT_NE(error_of("customers", "update", R"({"name":"A","shoe_size":"x"})"), "ok");
}

TEST(Validation, NumbersFitNumericUpToItsLimits) {
  EXPECT_TRUE(fits_numeric("0"));
  EXPECT_TRUE(fits_numeric("-150.50"));
  EXPECT_TRUE(fits_numeric("1e131071"));       // 131072 digits before the point
  EXPECT_FALSE(fits_numeric("1e131072"));
  EXPECT_TRUE(fits_numeric("0.001e131074"));   // 131072 digits
  EXPECT_TRUE(fits_numeric("1e-16383"));       // 16383 digits after the point
  EXPECT_FALSE(fits_numeric("1e-16384"));
  EXPECT_FALSE(fits_numeric("0e-16384"));      // the scale counts even for zero
  EXPECT_TRUE(fits_numeric("0e99999999"));
  EXPECT_FALSE(fits_numeric("0e1073741823"));  // PostgreSQL refuses the exponent itself
  EXPECT_FALSE(fits_numeric("1e99999999"));
  EXPECT_FALSE(fits_numeric("1E+99999999999999999999"));
  EXPECT_TRUE(fits_numeric("1" + std::string(131071, '0')));
  EXPECT_FALSE(fits_numeric("1" + std::string(131072, '0')));
  EXPECT_TRUE(fits_numeric("0." + std::string(16383, '0')));
  EXPECT_FALSE(fits_numeric("0." + std::string(16384, '0')));
}

TEST(Validation, CutTextKeepsWholeCodePointsAndMarksTheCut) {
  EXPECT_EQ(cut_text("short", 10), "short");
  EXPECT_EQ(cut_text("0123456789", 10), "0123456789");
  EXPECT_EQ(cut_text("0123456789A", 10), "0123456\u2026");
  // "é" is two bytes: cutting between them would leave invalid UTF-8.
  EXPECT_EQ(cut_text("012345\u00e9xyz", 10), "012345\u2026");
  std::string big(1 << 20, 'x');
  EXPECT_EQ(cut_text(big).size(), kFailedFieldMaxBytes);
  std::string emoji;
  for (int i = 0; i < 1000; ++i) emoji += "\U0001F600";
  std::string cut = cut_text(emoji);
  EXPECT_LE(cut.size(), kFailedFieldMaxBytes);
  EXPECT_EQ((cut.size() - 3) % 4, 0u);  // whole four-byte code points, then "…"
  EXPECT_TRUE(cut.ends_with("\u2026"));
}

TEST(Validation, ABoundedPayloadIsValidJsonOfAtMostTheLimit) {
  EXPECT_EQ(bounded_payload(R"({"name":"A"})", true), R"({"name":"A"})");
  EXPECT_EQ(bounded_payload(R"({"x":1e99999999})", false), R"({"payloadText":"{\"x\":1e99999999}"})");
  std::string quotes = "{\"n\":\"" + std::string(1 << 20, '"') + "\"}";
  std::string bounded = bounded_payload(quotes, true);
  EXPECT_LE(bounded.size(), kFailedFieldMaxBytes);
  auto parsed = parse_json(bounded);
  ASSERT_TRUE(parsed) << bounded;
  const JsonValue* text = parsed->find("payloadText");
  ASSERT_TRUE(text && text->is_string());
  EXPECT_TRUE(text->text.ends_with("\u2026"));
}

}  // namespace
}  // namespace avsync
