#pragma once
// PostgreSQL array literals, for sending a batch of rows as one statement (unnest() turns the
// arrays back into rows): one round trip and one plan for the batch.
#include <charconv>
#include <cstdint>
#include <string>

namespace sb::db::detail {

// PostgreSQL array literals, passed as ordinary parameters (data, never SQL): every element is
// double-quoted with \ and " escaped, NULL unquoted.
class ArrayLiteral {
  public:
    void add(const std::string& s) {
        sep();
        out_ += '"';
        for (char c : s) {
            if (c == '"' || c == '\\') out_ += '\\';
            out_ += c;
        }
        out_ += '"';
    }
    void add_null() {
        sep();
        out_ += "NULL";
    }
    void add_text_or_null(const std::string& s) { s.empty() ? add_null() : add(s); }
    void add_number(std::int64_t v) {
        sep();
        out_ += std::to_string(v);
    }
    void add_float(float v) {
        sep();
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
        out_.append(buf, end);
    }
    std::string str() const { return "{" + out_ + "}"; }

  private:
    void sep() {
        if (!first_) out_ += ',';
        first_ = false;
    }
    std::string out_;
    bool first_ = true;
};

}  // namespace sb::db::detail
