// avsync-chaos-client: one seller's device for the convergence check (convergence_test).
//
//   avsync-chaos-client run DATA URL TOKEN SEED SECONDS
//       random local writes on all five entities (inserts, updates, deletes, payments and
//       items against sales), syncing now and then, offline for a while at random
//   avsync-chaos-client settle DATA URL TOKEN OUT
//       syncs until nothing is pending, then writes the replica and the queue to OUT
//
// Every write goes through the SDK; the process may be killed at any moment.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <thread>

#include "avsync/client.hpp"
#include "client/json_format.hpp"

namespace {

using namespace std::chrono_literals;
using avsync::Client;
using avsync::FieldValues;

const char* const kEntities[] = {"customers", "sales", "sale_items", "abonos", "distribuciones"};

std::unique_ptr<Client> open(const std::string& data, const std::string& url, const std::string& token) {
  avsync::ClientOptions options;
  options.data_path = data;
  options.connect_timeout = 1s;
  options.request_timeout = 5s;
  options.batch_size = 20;
  auto client = Client::open(options);
  if (!client) throw std::runtime_error(client.error().message);
  if (auto configured = (*client)->configure(url, token); !configured) {
    throw std::runtime_error(configured.error().message);
  }
  return std::move(*client);
}

// A refused local write (say, a delete of a referenced row) is part of the game; a failing
// data file is not.
template <typename R>
void written(const R& result) {
  if (!result && result.error().code == avsync::ErrorCode::local_storage) {
    throw std::runtime_error("local write failed: " + result.error().message);
  }
}

class Seller {
 public:
  Seller(Client& client, std::uint64_t seed) : client_(client), random_(seed) {}

  void act() {
    const int roll = static_cast<int>(random_() % 100);
    if (roll < 20) {
      written(client_.insert("customers", {{"name", "Cliente " + std::to_string(random_() % 1000)}, {"phone", "+57 300"}}));
    } else if (roll < 32) {
      auto customer = any("customers");
      FieldValues fields{{"total", money()}, {"payment_type", random_() % 2 ? "cash" : "credit"}};
      if (customer) fields.emplace_back("customer_id", *customer);
      written(client_.insert("sales", fields));
    } else if (roll < 44) {
      if (auto sale = any("sales")) {
        written(client_.insert("sale_items", {{"sale_id", *sale}, {"product_name", "Arroz"},
                                              {"quantity", std::to_string(1 + random_() % 5)}, {"unit_price", money()}}));
      }
    } else if (roll < 54) {
      if (auto customer = any("customers")) {
        FieldValues fields{{"customer_id", *customer}, {"amount", money()}};
        if (auto sale = any("sales"); sale && random_() % 2) fields.emplace_back("sale_id", *sale);
        written(client_.insert("payments", fields));
      }
    } else if (roll < 62) {
      written(client_.insert("distribuciones", {{"product_name", "Aceite"}, {"quantity", "2.5"}, {"route", "ruta " + std::to_string(random_() % 9)}}));
    } else if (roll < 88) {
      const std::string entity = kEntities[random_() % 5];
      if (auto id = any(entity)) written(client_.update(entity, *id, change_for(entity)));
    } else {
      const std::string entity = kEntities[random_() % 5];
      if (auto id = any(entity)) written(client_.remove(entity, *id));  // refused when referenced: fine
    }
  }

  std::uint64_t next() { return random_(); }

 private:
  std::optional<std::string> any(const std::string& entity) {
    avsync::ListQuery query;
    query.limit = 200;
    auto rows = client_.list(entity, query);
    if (!rows || rows->empty()) return std::nullopt;
    return (*rows)[random_() % rows->size()].id;
  }
  std::string money() { return std::to_string(1 + random_() % 500) + "." + std::to_string(random_() % 10) + "0"; }
  FieldValues change_for(const std::string& entity) {
    const std::string tag = "v" + std::to_string(random_() % 100000);
    if (entity == "customers") return {{"notes", tag}, {"credit_limit", money()}};
    if (entity == "sales") return {{"notes", tag}, {"status", random_() % 4 ? "completed" : "cancelled"}};
    if (entity == "sale_items") return {{"quantity", std::to_string(1 + random_() % 9)}};
    if (entity == "abonos") return {{"notes", tag}, {"method", random_() % 2 ? "cash" : "transfer"}};
    return {{"route", tag}};
  }

  Client& client_;
  std::mt19937_64 random_;
};

int run(const std::string& data, const std::string& url, const std::string& token, std::uint64_t seed, int seconds) {
  auto client = open(data, url, token);
  Seller seller(*client, seed);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  auto offline_until = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < deadline) {
    seller.act();
    const auto now = std::chrono::steady_clock::now();
    const std::uint64_t roll = seller.next() % 100;
    if (now >= offline_until) {
      if (roll < 4) {
        offline_until = now + std::chrono::milliseconds(200 + seller.next() % 1500);  // out of signal
      } else if (roll < 30) {
        (void)client->sync_once();  // failures are expected: the network and server are hostile
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2 + seller.next() % 15));
  }
  return 0;
}

int settle(const std::string& data, const std::string& url, const std::string& token, const std::string& out_path) {
  auto client = open(data, url, token);
  bool settled = false;
  std::string last_error;
  for (int attempt = 0; attempt < 100 && !settled; ++attempt) {
    auto report = client->sync_once();
    if (report && report->pending == 0) {
      settled = true;
    } else {
      if (!report) last_error = report.error().message;
      std::this_thread::sleep_for(100ms);
    }
  }
  std::ofstream out(out_path);
  out << "{";
  for (const char* entity : kEntities) {
    avsync::ListQuery all;
    all.limit = 1'000'000;
    auto rows = client->list(entity, all);
    out << "\"" << entity << "\":" << (rows ? avsync::client::rows_json(*rows) : "[]") << ",";
  }
  auto queue = client->queue(1'000'000);
  out << "\"queue\":" << (queue ? avsync::client::queue_json(*queue) : "[]") << "}";
  if (!settled) std::cerr << "avsync-chaos-client: did not settle: " << last_error << "\n";
  return settled ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "run" && argc == 7) return run(argv[2], argv[3], argv[4], std::stoull(argv[5]), std::stoi(argv[6]));
    if (mode == "settle" && argc == 6) return settle(argv[2], argv[3], argv[4], argv[5]);
    std::cerr << "usage: avsync-chaos-client run DATA URL TOKEN SEED SECONDS | settle DATA URL TOKEN OUT\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "avsync-chaos-client: " << e.what() << "\n";
    return 1;
  }
}
