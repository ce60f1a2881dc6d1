//===- ByteSize.h - Memory sizes as users write and read them ---*- C++ -*-===//
//
// The one spelling of byte counts on mafat's interfaces: budgets parsed from
// flags and pass options, figures printed in reports and diagnostics.
// Plain C++ like the rest of Support, so anything can use it without the
// compiler.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_SUPPORT_BYTESIZE_H
#define MAFAT_SUPPORT_BYTESIZE_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mafat {

/// "2359296 bytes (2.25 MiB)": the exact count, then (from 1 KiB on) the
/// count in the largest 1024-based unit that keeps it at least 1, with at
/// most two decimals and no trailing zeros.
std::string formatBytes(uint64_t bytes);

/// Parses a memory size: a non-negative decimal number with an optional
/// unit B, KiB, MiB, GiB (1024-based) or KB, MB, GB (1000-based), e.g.
/// "8MiB", "1.5 GB", "3000000". Fractional bytes round down. Returns
/// std::nullopt and sets `error` for anything else.
std::optional<uint64_t> parseByteSize(std::string_view text,
                                      std::string &error);

} // namespace mafat

#endif // MAFAT_SUPPORT_BYTESIZE_H
