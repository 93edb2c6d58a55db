#include "tests/support/postgres_cluster.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "libpq-fe.h"

namespace handoff::testing {
namespace {

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnCloser>;

Conn Connect(const std::string& url) {
  Conn conn(PQconnectdb(url.c_str()));
  EXPECT_EQ(PQstatus(conn.get()), CONNECTION_OK) << url << ": " << PQerrorMessage(conn.get());
  return conn;
}

// The first column of the first row of `sql`'s answer; "" when it has none.
std::string Query(PGconn* conn, const std::string& sql) {
  PGresult* r = PQexec(conn, sql.c_str());
  EXPECT_TRUE(PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK)
      << sql << ": " << PQresultErrorMessage(r);
  std::string value = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQnfields(r) > 0
                          ? PQgetvalue(r, 0, 0)
                          : "";
  PQclear(r);
  return value;
}

TEST(PostgresClusterTest, AdminUrlAcceptsConnections) {
  const std::string& url = TestPostgresAdminUrl();
  ASSERT_FALSE(url.empty());
  EXPECT_EQ(url.rfind("postgresql://postgres@127.0.0.1:", 0), 0u) << url;
  Conn conn = Connect(url);
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK);
  EXPECT_EQ(Query(conn.get(), "SELECT current_database()"), "postgres");
  EXPECT_EQ(Query(conn.get(), "SHOW server_encoding"), "UTF8");
  EXPECT_EQ(Query(conn.get(), "SHOW max_connections"), "300");
}

TEST(PostgresClusterTest, TestDatabasesAreDistinctAndIsolated) {
  ASSERT_FALSE(TestPostgresAdminUrl().empty());
  auto a = CreateTestDatabase();
  auto b = CreateTestDatabase();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE(*a, *b);

  Conn ca = Connect(*a);
  Conn cb = Connect(*b);
  ASSERT_EQ(PQstatus(ca.get()), CONNECTION_OK);
  ASSERT_EQ(PQstatus(cb.get()), CONNECTION_OK);
  EXPECT_EQ(*a, TestPostgresAdminUrl().substr(0, TestPostgresAdminUrl().rfind('/') + 1) +
                    Query(ca.get(), "SELECT current_database()"));
  EXPECT_NE(Query(ca.get(), "SELECT current_database()"),
            Query(cb.get(), "SELECT current_database()"));
  EXPECT_EQ(Query(ca.get(), "SHOW server_encoding"), "UTF8");
  EXPECT_EQ(Query(cb.get(), "SHOW server_encoding"), "UTF8");

  Query(ca.get(), "CREATE TABLE only_in_a (id integer)");
  Query(ca.get(), "INSERT INTO only_in_a VALUES (1)");
  EXPECT_EQ(Query(ca.get(), "SELECT to_regclass('only_in_a') IS NOT NULL"), "t");
  EXPECT_EQ(Query(cb.get(), "SELECT to_regclass('only_in_a') IS NOT NULL"), "f");
}

}  // namespace
}  // namespace handoff::testing
