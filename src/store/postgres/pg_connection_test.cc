#include "store/postgres/pg_connection.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/support/postgres_cluster.h"

namespace handoff {
namespace {

class PgConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> url = testing::CreateTestDatabase();
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    absl::StatusOr<std::unique_ptr<PgConnection>> conn = PgConnection::Open(url_);
    ASSERT_TRUE(conn.ok()) << conn.status();
    conn_ = std::move(*conn);
  }
  void TearDown() override {
    conn_.reset();
    if (!url_.empty()) (void)testing::DropTestDatabase(url_);
  }

  // Whether the server holds a prepared statement of this connection for `sql`.
  bool IsPrepared(const std::string& sql) {
    absl::StatusOr<PgResult> r = conn_->Exec(
        "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", PgParams().Text(sql));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && r->Int(0, 0) > 0;
  }

  std::string url_;
  std::unique_ptr<PgConnection> conn_;
};

// A prepared statement keeps the plan PostgreSQL settled on while the tables were small, so the
// connection drops all of its statements after 1,024 runs (then 8,192, …), to be planned again.
TEST_F(PgConnectionTest, PreparedStatementsAreDroppedAndPlannedAgainAsTheConnectionAges) {
  const std::string once = "SELECT 2 AS once";
  const std::string often = "SELECT 1 AS often";
  ASSERT_TRUE(conn_->Exec(once).ok());
  ASSERT_TRUE(IsPrepared(once));
  int runs = 2;  // the statement above and the look-up
  for (; runs < 1000; ++runs) ASSERT_TRUE(conn_->Exec(often).ok());
  EXPECT_TRUE(IsPrepared(once)) << "dropped before the 1,024th run";
  for (; runs < 1100; ++runs) ASSERT_TRUE(conn_->Exec(often).ok());
  EXPECT_FALSE(IsPrepared(once)) << "still prepared after 1,100 runs";
  EXPECT_TRUE(IsPrepared(often)) << "prepared again at its next run";
  absl::StatusOr<PgResult> again = conn_->Exec(once);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->Int(0, 0), 2);

  // The next drop comes eight times later.
  for (; runs < 8000; ++runs) ASSERT_TRUE(conn_->Exec(often).ok());
  EXPECT_TRUE(IsPrepared(once)) << "dropped again before the 8,192nd run";
  for (; runs < 8300; ++runs) ASSERT_TRUE(conn_->Exec(often).ok());
  EXPECT_FALSE(IsPrepared(once));
}

}  // namespace
}  // namespace handoff
