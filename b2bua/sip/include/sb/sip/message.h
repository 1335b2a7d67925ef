#pragma once
// A SIP message (RFC 3261 section 7) that views its own copy of the bytes it was parsed from.
// The start line and the headers every layer needs (Via, From/To and their tags, Call-ID, CSeq,
// Max-Forwards, Content-Length) are parsed eagerly; everything else stays text until asked for.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "sb/common/result.h"
#include "sb/sip/error.h"
#include "sb/sip/header_id.h"
#include "sb/sip/method.h"
#include "sb/sip/text.h"
#include "sb/sip/uri.h"
#include "sb/sip/via.h"

namespace sb::sip {

struct HeaderField {
    std::string_view name;   // as received (full or compact form, any case)
    std::string_view value;  // trimmed; folded lines already joined with spaces
    HeaderId id = HeaderId::other;
};

// Hard limits; every one is configurable (config file [sip.limits]).
struct Limits {
    std::size_t max_message_size = 65535;  // whole message, start line to end of body
    std::size_t max_headers = 128;         // header fields (lines), not comma-separated values
    std::size_t max_vias = 64;             // Via values across all Via headers
    std::size_t max_line_length = 8192;    // one header line, folded continuations included
};

enum class Framing : std::uint8_t {
    datagram,  // UDP: Content-Length optional; bytes beyond it are discarded (RFC 3261 18.3)
    stream,    // TCP/TLS: the framer already cut exactly one message; Content-Length required
};

class Message {
public:
    static constexpr std::size_t kInlineHeaders = 32;

    Message();
    Message(Message&&) noexcept = default;
    Message& operator=(Message&&) noexcept = default;
    Message(const Message&) = delete;
    Message& operator=(const Message&) = delete;

    // Start line.
    bool is_request() const { return status_ == 0; }
    Method method() const { return method_; }             // requests; extension if unknown
    std::string_view method_text() const { return method_text_; }
    std::string_view request_uri_text() const { return request_uri_text_; }
    const Uri& request_uri() const { return request_uri_; }
    int status() const { return status_; }                // responses; 0 for requests
    std::string_view reason() const { return reason_; }

    // Eagerly parsed headers.
    const Via& top_via() const { return top_via_; }
    std::size_t via_count() const { return via_count_; }
    std::string_view call_id() const { return call_id_; }
    std::uint32_t cseq() const { return cseq_; }
    Method cseq_method() const { return cseq_method_; }
    std::string_view cseq_method_text() const { return cseq_method_text_; }
    std::string_view cseq_raw() const { return cseq_raw_; }  // the CSeq value as received
    std::string_view from() const { return from_; }  // whole header value
    std::string_view to() const { return to_; }
    std::string_view from_tag() const { return from_tag_; }
    std::string_view to_tag() const { return to_tag_; }
    int max_forwards() const { return max_forwards_; }  // -1 when absent
    bool has_content_length() const { return content_length_ >= 0; }
    std::string_view body() const { return body_; }

    // All header fields in order of arrival.
    std::span<const HeaderField> headers() const {
        return count_ <= kInlineHeaders ? std::span<const HeaderField>(inline_headers(), count_)
                                        : std::span<const HeaderField>(overflow_);
    }
    // First field with this id, or nullptr.
    const HeaderField* find(HeaderId id) const;
    // First field with this name (case-insensitive; compact forms of known headers match too).
    const HeaderField* find(std::string_view name) const;
    // Value of the first field with this id, or "".
    std::string_view value(HeaderId id) const {
        const HeaderField* f = find(id);
        return f ? f->value : std::string_view{};
    }
    // Calls fn(std::string_view element) for every comma-separated element of every field with
    // this id, in order (e.g. all Contact values). Returns false if fn returned false.
    template <class Fn>
    bool for_each_value(HeaderId id, Fn&& fn) const {
        for (const HeaderField& f : headers()) {
            if (f.id != id) continue;
            CommaSplitter split(f.value);
            while (auto v = split.next())
                if (!fn(*v)) return false;
        }
        return true;
    }

    // The bytes the message was parsed from (after folding was replaced by spaces).
    std::string_view raw() const { return {buf_, size_}; }

    // True when a response can be routed back: a request with a readable top Via. A response to
    // a request missing From, To, Call-ID or CSeq (RFC 3261 8.2.6) leaves those out: the sender
    // still learns what was wrong.
    bool can_respond() const { return is_request() && via_count_ > 0; }

private:
    friend class Parser;
    HeaderField* inline_headers() const { return reinterpret_cast<HeaderField*>(storage_.get()); }
    static constexpr std::size_t kInlineBytes = kInlineHeaders * sizeof(HeaderField);

    // One allocation per message: the inline header array, then the message bytes.
    std::unique_ptr<char[]> storage_;
    const char* buf_ = nullptr;
    std::uint32_t size_ = 0;
    std::uint16_t count_ = 0;
    std::uint16_t via_count_ = 0;

    Method method_ = Method::extension;
    Method cseq_method_ = Method::extension;
    std::int16_t max_forwards_ = -1;
    int status_ = 0;
    std::int64_t content_length_ = -1;
    std::uint32_t cseq_ = 0;
    std::string_view method_text_, request_uri_text_, reason_;
    std::string_view call_id_, cseq_method_text_, cseq_raw_, from_, to_, from_tag_, to_tag_, body_;
    Uri request_uri_;
    Via top_via_;
    // Index of the first field per HeaderId (kNone: absent), so find(id) is one load.
    static constexpr std::uint16_t kNone = 0xffff;
    std::uint16_t first_[static_cast<std::size_t>(HeaderId::count_)];
    // Beyond kInlineHeaders fields, all fields move here (rare: an allocation only then).
    std::vector<HeaderField> overflow_;
};

// Parses one message from `bytes`, copying them into `out`. On error `out` holds what was parsed
// before the error (check out.can_respond() before answering with the error's status); status 0
// means the message must be dropped without a response.
Result<void, SipError> parse_message(std::string_view bytes, Framing framing, const Limits& limits,
                                     Message& out);

}  // namespace sb::sip
