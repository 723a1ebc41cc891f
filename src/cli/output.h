// How the CLI prints: one JSON document on stdout with --json, readable text otherwise;
// failures as one line on stderr and an exit code from src/app/error_map.h.
#pragma once

#include <functional>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "app/error_map.h"
#include "core/status.h"

namespace smsconsent::cli {

struct Output {
  bool json = false;

  // Prints `doc` as JSON, or calls `text` to print it for people. Returns exit code 0.
  int Print(const nlohmann::json& doc, const std::function<void(std::ostream&)>& text) const {
    if (json) {
      std::cout << doc.dump(2) << "\n";
    } else {
      text(std::cout);
    }
    return 0;
  }

  // One line on stderr, exit code by status code.
  static int Fail(const Status& s) {
    std::cerr << "smsconsent: " << s.message() << " [" << StatusCodeName(s.code()) << "]\n";
    return ExitCodeFor(s.code());
  }
};

}  // namespace smsconsent::cli
