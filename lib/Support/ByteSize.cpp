//===- ByteSize.cpp - Memory sizes as users write and read them -----------===//

#include "mafat/Support/ByteSize.h"

#include <charconv>
#include <cmath>
#include <cstdio>

using namespace mafat;

std::string mafat::formatBytes(uint64_t bytes) {
  std::string text = std::to_string(bytes) + " bytes";
  static const char *units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = bytes;
  int unit = -1;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  if (unit < 0)
    return text;
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.2f", value);
  std::string number = buffer;
  // "2.25", "1.50" -> "1.5", "1.00" -> "1".
  while (number.back() == '0')
    number.pop_back();
  if (number.back() == '.')
    number.pop_back();
  return text + " (" + number + " " + units[unit] + ")";
}

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) {
  constexpr std::string_view space = " \t\n\v\f\r";
  size_t first = s.find_first_not_of(space);
  if (first == std::string_view::npos)
    return {};
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

} // namespace

std::optional<uint64_t> mafat::parseByteSize(std::string_view text,
                                             std::string &error) {
  std::string_view s = trim(text);
  size_t digits = 0;
  bool dot = false, anyDigit = false;
  while (digits < s.size() &&
         (isDigit(s[digits]) || (s[digits] == '.' && !dot))) {
    dot |= s[digits] == '.';
    anyDigit |= isDigit(s[digits]);
    ++digits;
  }
  std::string_view number = s.substr(0, digits);
  std::string_view unit = trim(s.substr(digits));
  auto fail = [&]() -> std::optional<uint64_t> {
    error = "invalid memory size '" + std::string(text) +
            "': expected a number of bytes with an optional unit B, KiB, MiB, "
            "GiB (1024-based) or KB, MB, GB (1000-based), e.g. 8MiB";
    return std::nullopt;
  };
  if (!anyDigit)
    return fail();
  double scale = 1;
  if (unit.empty() || unit == "B")
    scale = 1;
  else if (unit == "KiB")
    scale = 1024.0;
  else if (unit == "MiB")
    scale = 1024.0 * 1024;
  else if (unit == "GiB")
    scale = 1024.0 * 1024 * 1024;
  else if (unit == "KB" || unit == "kB")
    scale = 1e3;
  else if (unit == "MB")
    scale = 1e6;
  else if (unit == "GB")
    scale = 1e9;
  else
    return fail();
  // from_chars: correctly rounded like strtod, but independent of the
  // locale. Out of range is too large (an error) or, with no integer
  // digit other than 0, too small (rounds down to no bytes).
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(),
                                   value, std::chars_format::fixed);
  if (ec == std::errc::result_out_of_range &&
      number.find_first_not_of('0') == number.find('.')) {
    value = 0;
    ec = std::errc();
    end = number.data() + number.size();
  }
  if (ec != std::errc() || end != number.data() + number.size() ||
      !std::isfinite(value))
    return fail();
  double bytes = std::floor(value * scale);
  // 2^63: more memory than any device has; also keeps the cast defined.
  if (bytes >= 9.2e18) {
    error = "memory size '" + std::string(text) + "' is too large";
    return std::nullopt;
  }
  return (uint64_t)bytes;
}
