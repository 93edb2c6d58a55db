#include "enrich/normalize.h"

#include "gtest/gtest.h"

namespace handoff {
namespace {

TEST(NormalizeName, TrimsCollapsesAndDropsControls) {
  EXPECT_EQ(NormalizeName("  Ana \t  Ortiz\n"), "Ana Ortiz");
  EXPECT_EQ(NormalizeName("Ben\x01 Cho"), "Ben Cho");
  EXPECT_EQ(NormalizeName("José  Núñez"), "José Núñez");
  EXPECT_EQ(NormalizeName("   "), "");
}

TEST(NormalizeEmail, LowercasesAndValidates) {
  EXPECT_EQ(NormalizeEmail("  Ana.Ortiz@Example.COM "), "ana.ortiz@example.com");
  EXPECT_EQ(NormalizeEmail("no-at-sign.example.com"), "");
  EXPECT_EQ(NormalizeEmail("two@@example.com"), "");
  EXPECT_EQ(NormalizeEmail("a b@example.com"), "");
  EXPECT_EQ(NormalizeEmail("@example.com"), "");
  EXPECT_EQ(NormalizeEmail("ana@localhost"), "");
  EXPECT_EQ(NormalizeEmail("ana@example."), "");
}

TEST(NormalizePhone, FormatsE164UsingTheDefaultRegion) {
  EXPECT_EQ(NormalizePhone("(415) 555-0101", "US"), "+14155550101");
  EXPECT_EQ(NormalizePhone("+1 415 555 0101", "US"), "+14155550101");
  EXPECT_EQ(NormalizePhone("415.555.0101", "US"), "+14155550101");
  EXPECT_EQ(NormalizePhone("020 7946 0018", "GB"), "+442079460018");
  EXPECT_EQ(NormalizePhone("+44 20 7946 0018", "US"), "+442079460018");
}

TEST(NormalizePhone, RejectsWhatIsNotAPhoneNumber) {
  EXPECT_EQ(NormalizePhone("", "US"), "");
  EXPECT_EQ(NormalizePhone("call me maybe", "US"), "");
  EXPECT_EQ(NormalizePhone("12", "US"), "");
  EXPECT_EQ(NormalizePhone(std::string(100, '5'), "US"), "");
}

}  // namespace
}  // namespace handoff
