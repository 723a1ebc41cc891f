// The data behind quiet hours: NANP area codes with their state or province and IANA zones,
// and the US states whose telephone-solicitation hours are stricter than the federal 8-21.
//
// Area codes: the geographic area codes NANPA lists as in service (or assigned as overlays)
// for the 50 states, the District of Columbia and Canada's provinces and territories. The US
// territories (PR, VI, GU, MP, AS) and the Caribbean members of the NANP are regions of their
// own in libphonenumber, so their zones come from ICU; non-geographic codes (800, 500, 600...)
// are not listed and fall back to the region's zones. A code lists every zone some of its area
// keeps, conservatively: 850 (the Florida panhandle) is both Eastern and Central.
#include "core/quiet_hours.h"

namespace smsconsent {
namespace {

// Zone sets, each a space-separated list of IANA ids.
constexpr std::string_view kEt = "America/New_York";
constexpr std::string_view kCt = "America/Chicago";
constexpr std::string_view kMt = "America/Denver";
constexpr std::string_view kPt = "America/Los_Angeles";
constexpr std::string_view kEtCt = "America/New_York America/Chicago";
constexpr std::string_view kCtMt = "America/Chicago America/Denver";
constexpr std::string_view kInEt = "America/Indiana/Indianapolis";
constexpr std::string_view kInEtCt = "America/Indiana/Indianapolis America/Chicago";
constexpr std::string_view kAz = "America/Phoenix";
constexpr std::string_view kAzNavajo = "America/Phoenix America/Denver";  // Navajo Nation keeps DST
constexpr std::string_view kAk = "America/Anchorage America/Adak";
constexpr std::string_view kHi = "Pacific/Honolulu";
constexpr std::string_view kIdaho = "America/Boise America/Los_Angeles";
constexpr std::string_view kOrMt = "America/Los_Angeles America/Boise";   // Malheur County
constexpr std::string_view kNvMt = "America/Los_Angeles America/Denver";  // West Wendover
constexpr std::string_view kMi = "America/Detroit";
constexpr std::string_view kMiUp = "America/Detroit America/Menominee";
constexpr std::string_view kTxElPaso = "America/Denver";
constexpr std::string_view kAb = "America/Edmonton";
constexpr std::string_view kBc = "America/Vancouver";
constexpr std::string_view kBcAll =
    "America/Vancouver America/Edmonton America/Dawson_Creek America/Fort_Nelson America/Creston";
constexpr std::string_view kMb = "America/Winnipeg";
constexpr std::string_view kNb = "America/Moncton";
constexpr std::string_view kNl = "America/St_Johns America/Goose_Bay";
constexpr std::string_view kNs = "America/Halifax";
constexpr std::string_view kOn = "America/Toronto";
constexpr std::string_view kOnNw = "America/Toronto America/Winnipeg America/Atikokan";
constexpr std::string_view kQc = "America/Toronto";
constexpr std::string_view kQcEast = "America/Toronto America/Halifax America/Blanc-Sablon";
constexpr std::string_view kSk = "America/Regina";
constexpr std::string_view kTerritories =
    "America/Whitehorse America/Dawson America/Edmonton America/Inuvik America/Cambridge_Bay "
    "America/Rankin_Inlet America/Iqaluit";

constexpr AreaCodeZones kAreaCodes[] = {
    {201, "US-NJ", kEt},       {202, "US-DC", kEt},
    {203, "US-CT", kEt},       {204, "CA-MB", kMb},
    {205, "US-AL", kCt},       {206, "US-WA", kPt},
    {207, "US-ME", kEt},       {208, "US-ID", kIdaho},
    {209, "US-CA", kPt},       {210, "US-TX", kCt},
    {212, "US-NY", kEt},       {213, "US-CA", kPt},
    {214, "US-TX", kCt},       {215, "US-PA", kEt},
    {216, "US-OH", kEt},       {217, "US-IL", kCt},
    {218, "US-MN", kCt},       {219, "US-IN", kInEtCt},
    {220, "US-OH", kEt},       {223, "US-PA", kEt},
    {224, "US-IL", kCt},       {225, "US-LA", kCt},
    {226, "CA-ON", kOn},       {227, "US-MD", kEt},
    {228, "US-MS", kCt},       {229, "US-GA", kEt},
    {231, "US-MI", kMi},       {234, "US-OH", kEt},
    {235, "US-MO", kCt},       {236, "CA-BC", kBcAll},
    {239, "US-FL", kEt},       {240, "US-MD", kEt},
    {248, "US-MI", kMi},       {249, "CA-ON", kOn},
    {250, "CA-BC", kBcAll},    {251, "US-AL", kCt},
    {252, "US-NC", kEt},       {253, "US-WA", kPt},
    {254, "US-TX", kCt},       {256, "US-AL", kCt},
    {257, "CA-BC", kBcAll},    {260, "US-IN", kInEt},
    {262, "US-WI", kCt},       {263, "CA-QC", kQc},
    {267, "US-PA", kEt},       {269, "US-MI", kMi},
    {270, "US-KY", kEtCt},     {272, "US-PA", kEt},
    {274, "US-WI", kCt},       {276, "US-VA", kEt},
    {279, "US-CA", kPt},       {281, "US-TX", kCt},
    {283, "US-OH", kEt},       {289, "CA-ON", kOn},
    {301, "US-MD", kEt},       {302, "US-DE", kEt},
    {303, "US-CO", kMt},       {304, "US-WV", kEt},
    {305, "US-FL", kEt},       {306, "CA-SK", kSk},
    {307, "US-WY", kMt},       {308, "US-NE", kCtMt},
    {309, "US-IL", kCt},       {310, "US-CA", kPt},
    {312, "US-IL", kCt},       {313, "US-MI", kMi},
    {314, "US-MO", kCt},       {315, "US-NY", kEt},
    {316, "US-KS", kCt},       {317, "US-IN", kInEt},
    {318, "US-LA", kCt},       {319, "US-IA", kCt},
    {320, "US-MN", kCt},       {321, "US-FL", kEt},
    {323, "US-CA", kPt},       {324, "US-FL", kEt},
    {325, "US-TX", kCt},       {326, "US-OH", kEt},
    {327, "US-AR", kCt},       {329, "US-NY", kEt},
    {330, "US-OH", kEt},       {331, "US-IL", kCt},
    {332, "US-NY", kEt},       {334, "US-AL", kCt},
    {336, "US-NC", kEt},       {337, "US-LA", kCt},
    {339, "US-MA", kEt},       {341, "US-CA", kPt},
    {343, "CA-ON", kOn},       {346, "US-TX", kCt},
    {347, "US-NY", kEt},       {350, "US-CA", kPt},
    {351, "US-MA", kEt},       {352, "US-FL", kEt},
    {353, "US-WI", kCt},       {354, "CA-QC", kQc},
    {357, "US-CA", kPt},       {360, "US-WA", kPt},
    {361, "US-TX", kCt},       {363, "US-NY", kEt},
    {364, "US-KY", kEtCt},     {365, "CA-ON", kOn},
    {367, "CA-QC", kQcEast},   {368, "CA-AB", kAb},
    {369, "US-CA", kPt},       {380, "US-OH", kEt},
    {382, "CA-ON", kOn},       {385, "US-UT", kMt},
    {386, "US-FL", kEt},       {401, "US-RI", kEt},
    {402, "US-NE", kCt},       {403, "CA-AB", kAb},
    {404, "US-GA", kEt},       {405, "US-OK", kCt},
    {406, "US-MT", kMt},       {407, "US-FL", kEt},
    {408, "US-CA", kPt},       {409, "US-TX", kCt},
    {410, "US-MD", kEt},       {412, "US-PA", kEt},
    {413, "US-MA", kEt},       {414, "US-WI", kCt},
    {415, "US-CA", kPt},       {416, "CA-ON", kOn},
    {417, "US-MO", kCt},       {418, "CA-QC", kQcEast},
    {419, "US-OH", kEt},       {423, "US-TN", kEtCt},
    {424, "US-CA", kPt},       {425, "US-WA", kPt},
    {428, "CA-NB", kNb},       {430, "US-TX", kCt},
    {431, "CA-MB", kMb},       {432, "US-TX", kCtMt},
    {434, "US-VA", kEt},       {435, "US-UT", kMt},
    {436, "US-OH", kEt},       {437, "CA-ON", kOn},
    {438, "CA-QC", kQc},       {440, "US-OH", kEt},
    {442, "US-CA", kPt},       {443, "US-MD", kEt},
    {445, "US-PA", kEt},       {447, "US-IL", kCt},
    {448, "US-FL", kEtCt},     {450, "CA-QC", kQc},
    {457, "US-LA", kCt},       {458, "US-OR", kOrMt},
    {463, "US-IN", kInEt},     {464, "US-IL", kCt},
    {468, "CA-QC", kQc},       {469, "US-TX", kCt},
    {470, "US-GA", kEt},       {471, "US-MS", kCt},
    {472, "US-NC", kEt},       {474, "CA-SK", kSk},
    {475, "US-CT", kEt},       {478, "US-GA", kEt},
    {479, "US-AR", kCt},       {480, "US-AZ", kAz},
    {484, "US-PA", kEt},       {501, "US-AR", kCt},
    {502, "US-KY", kEt},       {503, "US-OR", kPt},
    {504, "US-LA", kCt},       {505, "US-NM", kMt},
    {506, "CA-NB", kNb},       {507, "US-MN", kCt},
    {508, "US-MA", kEt},       {509, "US-WA", kPt},
    {510, "US-CA", kPt},       {512, "US-TX", kCt},
    {513, "US-OH", kEt},       {514, "CA-QC", kQc},
    {515, "US-IA", kCt},       {516, "US-NY", kEt},
    {517, "US-MI", kMi},       {518, "US-NY", kEt},
    {519, "CA-ON", kOn},       {520, "US-AZ", kAz},
    {530, "US-CA", kPt},       {531, "US-NE", kCt},
    {534, "US-WI", kCt},       {539, "US-OK", kCt},
    {540, "US-VA", kEt},       {541, "US-OR", kOrMt},
    {548, "CA-ON", kOn},       {551, "US-NJ", kEt},
    {557, "US-MO", kCt},       {559, "US-CA", kPt},
    {561, "US-FL", kEt},       {562, "US-CA", kPt},
    {563, "US-IA", kCt},       {564, "US-WA", kPt},
    {567, "US-OH", kEt},       {570, "US-PA", kEt},
    {571, "US-VA", kEt},       {572, "US-OK", kCt},
    {573, "US-MO", kCt},       {574, "US-IN", kInEtCt},
    {575, "US-NM", kMt},       {579, "CA-QC", kQc},
    {580, "US-OK", kCt},       {581, "CA-QC", kQcEast},
    {582, "US-PA", kEt},       {584, "CA-MB", kMb},
    {585, "US-NY", kEt},       {586, "US-MI", kMi},
    {587, "CA-AB", kAb},       {601, "US-MS", kCt},
    {602, "US-AZ", kAz},       {603, "US-NH", kEt},
    {604, "CA-BC", kBc},       {605, "US-SD", kCtMt},
    {606, "US-KY", kEtCt},     {607, "US-NY", kEt},
    {608, "US-WI", kCt},       {609, "US-NJ", kEt},
    {610, "US-PA", kEt},       {612, "US-MN", kCt},
    {613, "CA-ON", kOn},       {614, "US-OH", kEt},
    {615, "US-TN", kCt},       {616, "US-MI", kMi},
    {617, "US-MA", kEt},       {618, "US-IL", kCt},
    {619, "US-CA", kPt},       {620, "US-KS", kCtMt},
    {623, "US-AZ", kAz},       {624, "US-NY", kEt},
    {626, "US-CA", kPt},       {628, "US-CA", kPt},
    {629, "US-TN", kCt},       {630, "US-IL", kCt},
    {631, "US-NY", kEt},       {636, "US-MO", kCt},
    {639, "CA-SK", kSk},       {640, "US-NJ", kEt},
    {641, "US-IA", kCt},       {645, "US-FL", kEt},
    {646, "US-NY", kEt},       {647, "CA-ON", kOn},
    {650, "US-CA", kPt},       {651, "US-MN", kCt},
    {656, "US-FL", kEt},       {657, "US-CA", kPt},
    {659, "US-AL", kCt},       {660, "US-MO", kCt},
    {661, "US-CA", kPt},       {662, "US-MS", kCt},
    {667, "US-MD", kEt},       {669, "US-CA", kPt},
    {672, "CA-BC", kBcAll},    {678, "US-GA", kEt},
    {679, "US-MI", kMi},       {680, "US-NY", kEt},
    {681, "US-WV", kEt},       {682, "US-TX", kCt},
    {683, "CA-ON", kOn},       {686, "US-VA", kEt},
    {689, "US-FL", kEt},       {701, "US-ND", kCtMt},
    {702, "US-NV", kPt},       {703, "US-VA", kEt},
    {704, "US-NC", kEt},       {705, "CA-ON", kOn},
    {706, "US-GA", kEt},       {707, "US-CA", kPt},
    {708, "US-IL", kCt},       {709, "CA-NL", kNl},
    {712, "US-IA", kCt},       {713, "US-TX", kCt},
    {714, "US-CA", kPt},       {715, "US-WI", kCt},
    {716, "US-NY", kEt},       {717, "US-PA", kEt},
    {718, "US-NY", kEt},       {719, "US-CO", kMt},
    {720, "US-CO", kMt},       {724, "US-PA", kEt},
    {725, "US-NV", kPt},       {726, "US-TX", kCt},
    {727, "US-FL", kEt},       {728, "US-FL", kEt},
    {729, "US-TN", kEtCt},     {730, "US-IL", kCt},
    {731, "US-TN", kCt},       {732, "US-NJ", kEt},
    {734, "US-MI", kMi},       {737, "US-TX", kCt},
    {738, "US-CA", kPt},       {740, "US-OH", kEt},
    {742, "CA-ON", kOn},       {743, "US-NC", kEt},
    {747, "US-CA", kPt},       {748, "US-CO", kMt},
    {753, "CA-ON", kOn},       {754, "US-FL", kEt},
    {757, "US-VA", kEt},       {760, "US-CA", kPt},
    {762, "US-GA", kEt},       {763, "US-MN", kCt},
    {765, "US-IN", kInEt},     {769, "US-MS", kCt},
    {770, "US-GA", kEt},       {771, "US-DC", kEt},
    {772, "US-FL", kEt},       {773, "US-IL", kCt},
    {774, "US-MA", kEt},       {775, "US-NV", kNvMt},
    {778, "CA-BC", kBcAll},    {779, "US-IL", kCt},
    {780, "CA-AB", kAb},       {781, "US-MA", kEt},
    {782, "CA-NS/PE", kNs},    {785, "US-KS", kCtMt},
    {786, "US-FL", kEt},       {801, "US-UT", kMt},
    {802, "US-VT", kEt},       {803, "US-SC", kEt},
    {804, "US-VA", kEt},       {805, "US-CA", kPt},
    {806, "US-TX", kCt},       {807, "CA-ON", kOnNw},
    {808, "US-HI", kHi},       {810, "US-MI", kMi},
    {812, "US-IN", kInEtCt},   {813, "US-FL", kEt},
    {814, "US-PA", kEt},       {815, "US-IL", kCt},
    {816, "US-MO", kCt},       {817, "US-TX", kCt},
    {818, "US-CA", kPt},       {819, "CA-QC", kQc},
    {820, "US-CA", kPt},       {821, "US-SC", kEt},
    {825, "CA-AB", kAb},       {826, "US-VA", kEt},
    {828, "US-NC", kEt},       {830, "US-TX", kCt},
    {831, "US-CA", kPt},       {832, "US-TX", kCt},
    {835, "US-PA", kEt},       {837, "US-CA", kPt},
    {838, "US-NY", kEt},       {839, "US-SC", kEt},
    {840, "US-CA", kPt},       {843, "US-SC", kEt},
    {845, "US-NY", kEt},       {847, "US-IL", kCt},
    {848, "US-NJ", kEt},       {850, "US-FL", kEtCt},
    {854, "US-SC", kEt},       {856, "US-NJ", kEt},
    {857, "US-MA", kEt},       {858, "US-CA", kPt},
    {859, "US-KY", kEt},       {860, "US-CT", kEt},
    {861, "US-IL", kCt},       {862, "US-NJ", kEt},
    {863, "US-FL", kEt},       {864, "US-SC", kEt},
    {865, "US-TN", kEt},       {867, "CA-YT/NT/NU", kTerritories},
    {870, "US-AR", kCt},       {872, "US-IL", kCt},
    {873, "CA-QC", kQc},       {878, "US-PA", kEt},
    {879, "CA-NL", kNl},       {901, "US-TN", kCt},
    {902, "CA-NS/PE", kNs},    {903, "US-TX", kCt},
    {904, "US-FL", kEt},       {905, "CA-ON", kOn},
    {906, "US-MI", kMiUp},     {907, "US-AK", kAk},
    {908, "US-NJ", kEt},       {909, "US-CA", kPt},
    {910, "US-NC", kEt},       {912, "US-GA", kEt},
    {913, "US-KS", kCt},       {914, "US-NY", kEt},
    {915, "US-TX", kTxElPaso}, {916, "US-CA", kPt},
    {917, "US-NY", kEt},       {918, "US-OK", kCt},
    {919, "US-NC", kEt},       {920, "US-WI", kCt},
    {924, "US-MN", kCt},       {925, "US-CA", kPt},
    {928, "US-AZ", kAzNavajo}, {929, "US-NY", kEt},
    {930, "US-IN", kInEtCt},   {931, "US-TN", kCt},
    {934, "US-NY", kEt},       {936, "US-TX", kCt},
    {937, "US-OH", kEt},       {938, "US-AL", kCt},
    {940, "US-TX", kCt},       {941, "US-FL", kEt},
    {942, "CA-ON", kOn},       {943, "US-GA", kEt},
    {945, "US-TX", kCt},       {947, "US-MI", kMi},
    {948, "US-VA", kEt},       {949, "US-CA", kPt},
    {951, "US-CA", kPt},       {952, "US-MN", kCt},
    {954, "US-FL", kEt},       {956, "US-TX", kCt},
    {959, "US-CT", kEt},       {970, "US-CO", kMt},
    {971, "US-OR", kPt},       {972, "US-TX", kCt},
    {973, "US-NJ", kEt},       {975, "US-MO", kCt},
    {978, "US-MA", kEt},       {979, "US-TX", kCt},
    {980, "US-NC", kEt},       {983, "US-CO", kMt},
    {984, "US-NC", kEt},       {985, "US-LA", kCt},
    {986, "US-ID", kIdaho},    {989, "US-MI", kMi},
};

constexpr LocalWindow Hours(int start_hour, int end_hour) {
  return {start_hour * 60, end_hour * 60};
}
constexpr WeeklyWindows EveryDay(LocalWindow w) { return {w, w, w, w, w, w, w}; }
// Sunday's window, then Monday-Saturday's.
constexpr WeeklyWindows SundayAndRest(LocalWindow sunday, LocalWindow rest) {
  return {sunday, rest, rest, rest, rest, rest, rest};
}
constexpr LocalWindow kNoWindow{};

// Telephone-solicitation hours of states stricter than 08:00-21:00 (docs/sending.md lists the
// statutes). Holidays some of them also exclude are not modelled.
constexpr JurisdictionRule kRules[] = {
    {"US-AL", SundayAndRest(kNoWindow, Hours(8, 20))},  // no Sunday solicitation
    {"US-CT", EveryDay(Hours(9, 20))},
    {"US-FL", EveryDay(Hours(8, 20))},
    {"US-LA", SundayAndRest(kNoWindow, Hours(8, 20))},  // no Sunday solicitation
    {"US-MD", EveryDay(Hours(8, 20))},
    {"US-MS", EveryDay(Hours(8, 20))},
    {"US-NJ", EveryDay(Hours(8, 20))},
    {"US-OK", EveryDay(Hours(8, 20))},
    // Weekdays 09:00-18:00; Saturday and Sunday 10:00-17:00.
    {"US-RI",
     {Hours(10, 17), Hours(9, 18), Hours(9, 18), Hours(9, 18), Hours(9, 18), Hours(9, 18),
      Hours(10, 17)}},
    {"US-TX", SundayAndRest(Hours(12, 21), Hours(9, 21))},
    {"US-WA", EveryDay(Hours(8, 20))},
};

}  // namespace

std::span<const AreaCodeZones> NanpAreaCodes() { return kAreaCodes; }
std::span<const JurisdictionRule> JurisdictionRules() { return kRules; }

}  // namespace smsconsent
