#include "store/postgres/pg_schema.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/support/postgres_cluster.h"

namespace handoff {
namespace {

// A fresh database brought to the latest schema.
class PgSchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> url = testing::CreateTestDatabase();
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    absl::StatusOr<std::unique_ptr<PgConnection>> conn = PgConnection::Open(url_);
    ASSERT_TRUE(conn.ok()) << conn.status();
    conn_ = std::move(*conn);
    ASSERT_TRUE(MigratePgSchema(*conn_, 0).ok());
  }
  void TearDown() override {
    conn_.reset();
    if (!url_.empty()) (void)testing::DropTestDatabase(url_);
  }

  std::set<std::string> IndexesOf(const std::string& table) {
    std::set<std::string> out;
    absl::StatusOr<PgResult> r = conn_->Exec(
        "SELECT indexname FROM pg_indexes WHERE tablename = $1", PgParams().Text(table));
    EXPECT_TRUE(r.ok()) << r.status();
    for (int i = 0; r.ok() && i < r->rows(); ++i) out.insert(r->Text(i, 0));
    return out;
  }

  // PostgreSQL's plan for `sql`, one line per node.
  std::string Plan(const std::string& sql) {
    absl::StatusOr<PgResult> r = conn_->Exec("EXPLAIN (COSTS OFF) " + sql);
    EXPECT_TRUE(r.ok()) << r.status();
    std::string out;
    for (int i = 0; r.ok() && i < r->rows(); ++i) out += r->Text(i, 0) + "\n";
    return out;
  }

  std::string url_;
  std::unique_ptr<PgConnection> conn_;
};

// Migration 8: no index holds every handoff by state. Nearly all handoffs are confirmed, no read
// by state asks for those, and here each new version of a row (the claim, the confirmation)
// added an entry to it.
TEST_F(PgSchemaTest, NoIndexHoldsEveryHandoffByState) {
  EXPECT_EQ(IndexesOf("handoffs"),
            (std::set<std::string>{"handoffs_alerts", "handoffs_by_inquiry", "handoffs_claimable",
                                   "handoffs_dead", "handoffs_leased", "handoffs_pkey"}));
}

// The reads by state, shaped as PgStore writes them (the per-state lists, the counts per
// destination and the metrics' depths), find the few unconfirmed handoffs among many confirmed
// ones through the partial indexes rather than a walk of the table.
TEST_F(PgSchemaTest, ReadsByStateGoThroughThePartialIndexes) {
  ASSERT_TRUE(conn_
                  ->Exec("INSERT INTO handoffs (id, workspace, inquiry_id, destination, state, "
                         "attempts, next_attempt_at, created_at, confirmed_at, remote_id, "
                         "last_status, last_error, last_response_excerpt) "
                         "SELECT 'h' || g, 'acme', 'i' || g, 'crm', CASE WHEN g % 1000 = 0 THEN "
                         "'dead' WHEN g % 1000 = 1 THEN 'pending' ELSE 'confirmed' END, 1, g, g, "
                         "g, '', 200, '', '' FROM generate_series(1, 20000) g")
                  .ok());
  ASSERT_TRUE(conn_->Exec("ANALYZE handoffs").ok());
  const std::string tail =
      " AND workspace = 'acme' AND purpose <> 'alert' ORDER BY created_at DESC, id DESC LIMIT 10";
  const std::string dead =
      Plan("SELECT id FROM handoffs WHERE state = 'dead' AND state = 'dead'" + tail);
  EXPECT_NE(dead.find("handoffs_dead"), std::string::npos) << dead;
  const std::string pending = Plan(
      "SELECT id FROM handoffs WHERE state IN ('pending', 'failed', 'delivering') AND state = "
      "'pending'" +
      tail);
  EXPECT_NE(pending.find("handoffs_claimable"), std::string::npos) << pending;
  const std::string unsettled =
      " FROM handoffs WHERE state IN ('pending', 'failed', 'delivering') AND workspace = 'acme' "
      "UNION ALL SELECT destination, purpose, state FROM handoffs WHERE state = 'dead' AND "
      "workspace = 'acme'";
  const std::string counts =
      Plan("SELECT destination, purpose, state, COUNT(*) FROM (SELECT destination, purpose, state" +
           unsettled + ") u GROUP BY destination, purpose, state");
  EXPECT_NE(counts.find("handoffs_claimable"), std::string::npos) << counts;
  EXPECT_NE(counts.find("handoffs_dead"), std::string::npos) << counts;
  for (const std::string& plan : {dead, pending, counts}) {
    EXPECT_EQ(plan.find("Seq Scan on handoffs"), std::string::npos) << plan;
  }
}

}  // namespace
}  // namespace handoff
