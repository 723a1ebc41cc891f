#include "core/delivery.h"

#include <array>
#include <utility>

namespace smsconsent {
namespace {

constexpr std::array<std::pair<DeliveryStatus, const char*>, 4> kDeliveryNames{{
    {DeliveryStatus::kSent, "sent"},
    {DeliveryStatus::kDelivered, "delivered"},
    {DeliveryStatus::kFailed, "failed"},
    {DeliveryStatus::kUndelivered, "undelivered"},
}};

void AppendPrintable(std::string& out, std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    out.push_back(c == '\r' || c == '\n' || c == '\t' ? ' ' : (c < 0x20 || c > 0x7E) ? '?' : ch);
  }
}

}  // namespace

const char* DeliveryStatusName(DeliveryStatus s) {
  for (const auto& [value, name] : kDeliveryNames) {
    if (value == s) return name;
  }
  return "unknown";
}

Result<DeliveryStatus> ParseDeliveryStatus(std::string_view s) {
  for (const auto& [value, name] : kDeliveryNames) {
    if (s == name) return value;
  }
  return InvalidArgument("unknown delivery status '" + std::string(s.substr(0, 40)) + "'");
}

bool DeliveryAdvances(std::optional<DeliveryStatus> current, DeliveryStatus incoming) {
  if (!current) return true;
  if (IsFinalDelivery(*current)) return false;
  return IsFinalDelivery(incoming);
}

std::string DeliveryErrorText(std::string_view code, std::string_view text) {
  std::string out;
  AppendPrintable(out, code);
  if (!code.empty() && !text.empty()) out += ": ";
  AppendPrintable(out, text);
  if (out.size() > kMaxDeliveryErrorBytes) out.resize(kMaxDeliveryErrorBytes);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

bool IsCarrierOptOutError(std::string_view provider, std::string_view code) {
  if (provider == "twilio") return code == "21610";
  if (provider == "telnyx") return code == "40300";
  if (provider == "vonage") return code == "9";
  return false;
}

}  // namespace smsconsent
