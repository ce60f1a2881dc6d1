//===- ByteSizeTest.cpp - Tests for parsing and printing byte sizes -------===//

#include "mafat/Support/ByteSize.h"

#include "gtest/gtest.h"

using namespace mafat;

namespace {

TEST(ByteSize, Parse) {
  std::string error;
  EXPECT_EQ(parseByteSize("3000000", error), 3000000u);
  EXPECT_EQ(parseByteSize("8MiB", error), 8u << 20);
  EXPECT_EQ(parseByteSize("512 KiB", error), 512u << 10);
  EXPECT_EQ(parseByteSize("1.5GiB", error), 3ull << 29);
  EXPECT_EQ(parseByteSize("2.5MB", error), 2500000u);
  EXPECT_EQ(parseByteSize("1KB", error), 1000u);
  EXPECT_EQ(parseByteSize("1kB", error), 1000u);
  EXPECT_EQ(parseByteSize("1GB", error), 1000000000u);
  EXPECT_EQ(parseByteSize("7B", error), 7u);
  EXPECT_EQ(parseByteSize(" 150KiB\t", error), 150u << 10);
  EXPECT_EQ(error, "");
}

TEST(ByteSize, Fractions) {
  std::string error;
  // Fractional bytes round down.
  EXPECT_EQ(parseByteSize("0.5", error), 0u);
  EXPECT_EQ(parseByteSize("2.9", error), 2u);
  EXPECT_EQ(parseByteSize("0.5KiB", error), 512u);
  EXPECT_EQ(parseByteSize(".5KiB", error), 512u);
  EXPECT_EQ(parseByteSize("5.", error), 5u);
  // Below the smallest double: still a number, of no bytes.
  EXPECT_EQ(parseByteSize("0." + std::string(400, '0') + "1GiB", error), 0u);
  EXPECT_EQ(error, "");
}

TEST(ByteSize, Invalid) {
  std::string error;
  for (const char *bad :
       {"", " ", ".", "MiB", "8 mib", "8XB", "-1", "+1", "1e6", "1..5MiB",
        "1.2.3", "8MiB8", "1e999GiB", "0x10", "8 MiB B"}) {
    error.clear();
    EXPECT_FALSE(parseByteSize(bad, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  // Past a double's range.
  error.clear();
  EXPECT_FALSE(parseByteSize(std::string(400, '9'), error));
  EXPECT_FALSE(error.empty());
  error.clear();
  parseByteSize("8XB", error);
  EXPECT_EQ(error, "invalid memory size '8XB': expected a number of bytes "
                   "with an optional unit B, KiB, MiB, GiB (1024-based) or "
                   "KB, MB, GB (1000-based), e.g. 8MiB");
}

TEST(ByteSize, TooLarge) {
  std::string error;
  EXPECT_FALSE(parseByteSize("99999999999GiB", error));
  EXPECT_EQ(error, "memory size '99999999999GiB' is too large");
  error.clear();
  // Just below 2^63.
  EXPECT_EQ(parseByteSize("8000000000GiB", error), 8000000000ull << 30);
}

TEST(ByteSize, Format) {
  EXPECT_EQ(formatBytes(0), "0 bytes");
  EXPECT_EQ(formatBytes(512), "512 bytes");
  EXPECT_EQ(formatBytes(1023), "1023 bytes");
  EXPECT_EQ(formatBytes(1024), "1024 bytes (1 KiB)");
  EXPECT_EQ(formatBytes(1048576), "1048576 bytes (1 MiB)");
  EXPECT_EQ(formatBytes(2359296), "2359296 bytes (2.25 MiB)");
  EXPECT_EQ(formatBytes(1536), "1536 bytes (1.5 KiB)");
  EXPECT_EQ(formatBytes(153600), "153600 bytes (150 KiB)");
  EXPECT_EQ(formatBytes(150080), "150080 bytes (146.56 KiB)");
  EXPECT_EQ(formatBytes(3ull << 30), "3221225472 bytes (3 GiB)");
  // TiB is the largest unit.
  EXPECT_EQ(formatBytes(2048ull << 40), "2251799813685248 bytes (2048 TiB)");
}

TEST(ByteSize, RoundTrip) {
  std::string error;
  for (uint64_t bytes : {1ull, 1000ull, 4096ull, 150ull << 10, 6ull << 20})
    EXPECT_EQ(parseByteSize(std::to_string(bytes), error), bytes);
}

} // namespace
