// CSV throughput on a typical contacts file (phone,name,email,city; one name in ten quoted
// because it holds a comma): the reader alone, the reader plus the contacts header mapping an
// import does per row, and the writer of an export. Bytes/s and records/s ("items").
#include <benchmark/benchmark.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/csv.h"

namespace smsconsent {
namespace {

constexpr int kRows = 100'000;
constexpr size_t kChunk = 64 * 1024;  // what an import reads from the file at a time

const std::string& ContactsCsv() {
  static const std::string csv = [] {
    static const char* const kFirst[] = {"Ann", "Bo", "Carla", "Søren", "Émile", "Jens", "Maja"};
    static const char* const kLast[] = {"Jensen", "Hansen", "Nielsen", "Ødegaard", "Smith"};
    static const char* const kCity[] = {"Aarhus", "København", "Odense", "Aalborg", "Malmö"};
    std::string out = "phone,name,email,city\r\n";
    for (int i = 0; i < kRows; ++i) {
      const std::string n = std::to_string(10'000'000 + i);
      const std::string first = kFirst[i % 7], last = kLast[i % 5];
      out += "+452" + n.substr(1) + ",";
      out += (i % 10 == 0) ? "\"" + last + ", " + first + "\"" : first + " " + last;
      out += "," + first + "." + std::to_string(i) + "@example.com," + kCity[i % 5] + "\r\n";
    }
    return out;
  }();
  return csv;
}

void BM_CsvRead(benchmark::State& state) {
  const std::string& csv = ContactsCsv();
  int64_t records = 0;
  for (auto _ : state) {
    CsvReader reader;
    size_t fields = 0;
    const CsvReader::Callback cb = [&fields](const CsvRecord& r) {
      fields += r.fields.size();
      return true;
    };
    for (size_t pos = 0; pos < csv.size(); pos += kChunk) {
      reader.Feed(std::string_view(csv).substr(pos, kChunk), cb);
    }
    reader.Finish(cb);
    benchmark::DoNotOptimize(fields);
    records += reader.records();
  }
  state.SetItemsProcessed(records);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(csv.size()));
}
BENCHMARK(BM_CsvRead)->Unit(benchmark::kMillisecond);

void BM_CsvReadContactRows(benchmark::State& state) {
  const std::string& csv = ContactsCsv();
  int64_t records = 0;
  for (auto _ : state) {
    CsvReader reader;
    std::optional<ContactColumns> columns;
    ContactRow row;
    size_t ok = 0;
    const CsvReader::Callback cb = [&](const CsvRecord& r) {
      if (!columns) {
        columns = *MapContactHeader(r.fields);
      } else if (ReadContactRow(*columns, r, &row).ok()) {
        ++ok;
      }
      return true;
    };
    for (size_t pos = 0; pos < csv.size(); pos += kChunk) {
      reader.Feed(std::string_view(csv).substr(pos, kChunk), cb);
    }
    reader.Finish(cb);
    benchmark::DoNotOptimize(ok);
    records += reader.records();
  }
  state.SetItemsProcessed(records);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(csv.size()));
}
BENCHMARK(BM_CsvReadContactRows)->Unit(benchmark::kMillisecond);

void BM_CsvWrite(benchmark::State& state) {
  // The rows of the same file, written back with formula protection (every phone gets the
  // apostrophe, as an export for people does).
  std::vector<std::vector<std::string>> rows;
  {
    CsvReader reader;
    const CsvReader::Callback cb = [&rows](const CsvRecord& r) {
      rows.emplace_back(r.fields.begin(), r.fields.end());
      return true;
    };
    reader.Feed(ContactsCsv(), cb);
    reader.Finish(cb);
  }
  CsvWriter writer;
  std::string out;
  int64_t bytes = 0;
  for (auto _ : state) {
    for (const auto& row : rows) {
      writer.AppendRecord(row, &out);
      if (out.size() >= kChunk) {  // an export flushes its buffer to the file here
        bytes += static_cast<int64_t>(out.size());
        out.clear();
      }
    }
    bytes += static_cast<int64_t>(out.size());
    out.clear();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(rows.size()));
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_CsvWrite)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace smsconsent
