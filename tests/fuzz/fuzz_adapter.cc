#include "tests/fuzz/fuzz_adapter.h"

#include <cstdio>
#include <cstdlib>

#include "entry/rejection.h"

namespace handoff::fuzzing {

void FuzzAdapterOnce(const SourceAdapter& adapter, const SourceConfig& source,
                     const std::string& content_type, const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  HttpRequest request;
  request.method = "POST";
  request.path = request.target = "/in/" + source.name;
  request.remote_address = "127.0.0.1";
  size_t split = input.find("\n\n");
  std::string body = input;
  if (split != std::string::npos) {
    std::string head = input.substr(0, split);
    body = input.substr(split + 2);
    size_t start = 0;
    while (start <= head.size()) {
      size_t end = head.find('\n', start);
      if (end == std::string::npos) end = head.size();
      std::string line = head.substr(start, end - start);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t v = line.find_first_not_of(' ', colon + 1);
        request.headers.emplace_back(name, v == std::string::npos ? "" : line.substr(v));
      }
      start = end + 1;
    }
  }
  if (request.Header("content-type") == std::nullopt) {
    request.headers.emplace_back("content-type", content_type);
  }
  request.body = std::move(body);
  try {
    (void)adapter.Verify(source, request, 1'764'000'000LL * kMicrosPerSecond);
    auto parsed = adapter.Parse(source, request);
    if (!parsed.ok() && RejectionCode(parsed.status()) == "internal") {
      std::fprintf(stderr, "Parse failed with a non-rejection status: %s\n",
                   std::string(parsed.status().message()).c_str());
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "adapter threw: %s\n", e.what());
    std::abort();
  }
}

}  // namespace handoff::fuzzing
