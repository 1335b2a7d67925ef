// libFuzzer target for the SIP parser (b2bua/sip): parse_message in both framings, then
// everything a server reaches lazily from a parsed message, then the response round trip.
//
// Invariants checked beyond "no crash, no sanitizer report":
//   - a request that parses and can be answered gets a response from start_response() that parses
//     again, in both framings, with the same Call-ID, CSeq, From tag, Via count and top branch
//     (RFC 3261 8.2.6.2), and that frame_stream() frames as exactly one message;
//   - frame_stream() never claims more bytes than it was given.
// Every string_view the parser hands out is read byte by byte, so a view that points outside the
// message's own buffer is an AddressSanitizer report rather than a silent wrong answer.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sb/sip/framing.h"
#include "sb/sip/header_id.h"
#include "sb/sip/message.h"
#include "sb/sip/name_addr.h"
#include "sb/sip/uri.h"
#include "sb/sip/via.h"
#include "sb/sip/writer.h"

namespace {

using namespace sb::sip;

volatile std::uint64_t g_sink;

void touch(std::string_view v) {
    std::uint64_t h = v.size();
    for (char c : v) h = h * 31 + static_cast<unsigned char>(c);
    g_sink = g_sink + h;
}

// SB_FUZZ_IGNORE="text": invariant failures whose description contains the text are printed once
// and skipped, so a long hunting run is not stopped again and again by a bug already reported
// (and kept in regressions/). Never set it in the test suite.
bool ignored(const char* what) {
    static const char* env = std::getenv("SB_FUZZ_IGNORE");
    if (env == nullptr || *env == '\0' || std::string_view(what).find(env) == std::string_view::npos) return false;
    static bool said = false;
    if (!said) std::fprintf(stderr, "SB_FUZZ_IGNORE: skipping known invariant failure: %s\n", what);
    said = true;
    return true;
}

void invariant_failed(const char* what, std::string_view detail) {
    if (ignored(what)) return;
    std::fprintf(stderr, "INVARIANT FAILED: %s\n--- text ---\n%.*s\n--- end ---\n", what,
                 static_cast<int>(detail.size()), detail.data());
    std::abort();
}

void exercise_uri(std::string_view text) {
    auto u = parse_uri(text);
    if (!u) {
        touch(u.error().reason);
        return;
    }
    const Uri& uri = *u;
    touch(uri.scheme_text), touch(uri.user), touch(uri.password), touch(uri.host);
    touch(uri.params), touch(uri.headers), touch(uri.opaque), touch(uri.text);
    if (auto t = uri.param("transport")) touch(*t);
    if (auto lr = uri.param("lr")) touch(*lr);
    touch(unescape(uri.user));
    g_sink = g_sink + uri.port_or_default() + uri.is_sip() + is_valid_host(uri.host);
    if (!uri_equivalent(uri, uri) && uri.is_sip()) invariant_failed("a SIP URI is not equivalent to itself", text);
}

void exercise_name_addr(std::string_view value) {
    auto na = parse_name_addr(value);
    if (!na) return;
    touch(na->display_name), touch(na->uri), touch(na->params), touch(na->tag());
    if (auto e = na->param("expires")) touch(*e);
    touch(na->display_name_text());
    exercise_uri(na->uri);
}

void exercise_via(std::string_view value) {
    auto v = parse_via(value);
    if (!v) return;
    touch(v->protocol_version), touch(v->transport), touch(v->host), touch(v->params);
    touch(v->branch), touch(v->received), touch(v->rport);
    g_sink = g_sink + v->port + v->rfc3261_branch();
}

// Everything reachable from a message, parsed fully (complete) or only up to an error. After an
// error the per-id index behind find() may not be built yet, so find() is only checked on success.
void exercise_message(const Message& m, bool complete = true) {
    touch(m.method_text()), touch(m.request_uri_text()), touch(m.reason());
    touch(m.call_id()), touch(m.cseq_method_text()), touch(m.from()), touch(m.to());
    touch(m.from_tag()), touch(m.to_tag()), touch(m.body()), touch(m.raw());
    touch(m.top_via().branch), touch(m.top_via().host), touch(m.top_via().params);
    g_sink = g_sink + m.status() + m.cseq() + m.via_count() + m.max_forwards() + m.can_respond();
    if (m.is_request() && !m.request_uri_text().empty()) exercise_uri(m.request_uri_text());

    for (const HeaderField& f : m.headers()) {
        touch(f.name), touch(f.value);
        const HeaderField* by_name = m.find(f.name);
        if (by_name != nullptr) touch(by_name->value);
        else if (complete) invariant_failed("find(name) misses a header that is there", f.name);
    }
    for (auto id = 0; id < static_cast<int>(HeaderId::count_); ++id) touch(m.value(static_cast<HeaderId>(id)));
    for (std::string_view name : {"Via", "v", "CALL-ID", "i", "Contact", "X-Unknown", "", "P-Asserted-Identity"})
        if (const HeaderField* f = m.find(name)) touch(f->value);

    for (HeaderId id : {HeaderId::contact, HeaderId::route, HeaderId::record_route, HeaderId::path,
                        HeaderId::p_asserted_identity}) {
        m.for_each_value(id, [](std::string_view v) {
            touch(v);
            exercise_name_addr(v);
            return true;
        });
    }
    m.for_each_value(HeaderId::via, [](std::string_view v) {
        exercise_via(v);
        return true;
    });
    if (!m.from().empty()) exercise_name_addr(m.from());
    if (!m.to().empty()) exercise_name_addr(m.to());
}

void check_same(const char* what, std::string_view a, std::string_view b, std::string_view text) {
    if (a != b) invariant_failed(what, text);
}

// RFC 3261 8.2.6.2: the response copies Via, From, To, Call-ID and CSeq; it must parse again.
void round_trip(const Message& req, const Limits& limits, int code) {
    std::string text;
    MessageWriter w(text);
    start_response(w, req, code, default_reason(code), "fuzz-to-tag", Source{"192.0.2.7", 5062});
    w.finish();

    // The response may be a little longer than the request (received, rport, To tag): re-parse with
    // room for that, so a request right at a limit is not taken for a bug.
    Limits roomy = limits;
    roomy.max_message_size += 1024;
    roomy.max_headers += 8;
    roomy.max_line_length += 256;
    for (Framing framing : {Framing::datagram, Framing::stream}) {
        Message resp;
        auto r = parse_message(text, framing, roomy, resp);
        if (!r) {
            std::fprintf(stderr, "response does not parse: %d %s\n", r.error().status, r.error().reason);
            invariant_failed("start_response() wrote a response that does not parse", text);
            return;
        }
        if (resp.is_request() || resp.status() != code) invariant_failed("response status line", text);
        check_same("Call-ID changed", req.call_id(), resp.call_id(), text);
        check_same("CSeq method changed", req.cseq_method_text(), resp.cseq_method_text(), text);
        check_same("From tag changed", req.from_tag(), resp.from_tag(), text);
        check_same("top Via branch changed", req.top_via().branch, resp.top_via().branch, text);
        if (req.cseq() != resp.cseq()) invariant_failed("CSeq number changed", text);
        if (req.via_count() != resp.via_count()) invariant_failed("Via count changed", text);
        // RFC 3261 8.2.6.2: a To tag is added to a response above 100 when the request had none.
        std::string_view want_tag = (code > 100 && req.to_tag().empty()) ? "fuzz-to-tag" : req.to_tag();
        check_same("To tag", want_tag, resp.to_tag(), text);
        exercise_message(resp);
    }
    Frame f = frame_stream(text, roomy);
    if (f.kind != Frame::message || f.length != text.size())
        invariant_failed("frame_stream() does not frame the response as one message", text);
}

void exercise_framing(std::string_view bytes, const Limits& limits) {
    // As a stream transport would: cut frames off the front until it needs more or gives up.
    for (int i = 0; i < 64 && !bytes.empty(); ++i) {
        Frame f = frame_stream(bytes, limits);
        if (f.kind == Frame::need_more || f.kind == Frame::error) {
            touch(f.err.reason);
            return;
        }
        if (f.length == 0 || f.length > bytes.size()) {
            invariant_failed("frame_stream() length out of range", bytes);
            return;
        }
        if (f.kind == Frame::message) {
            Message m;
            if (parse_message(bytes.substr(0, f.length), Framing::stream, limits, m)) exercise_message(m);
        }
        bytes.remove_prefix(f.length);
    }
}

void parse_and_exercise(std::string_view bytes, Framing framing, const Limits& limits, int code) {
    Message m;
    auto r = parse_message(bytes, framing, limits, m);
    exercise_message(m, r.has_value());  // also after an error: callers look at it to answer
    if (!r) {
        touch(r.error().reason);
        if (r.error().status != 0 && (r.error().status < 100 || r.error().status > 699))
            invariant_failed("error status is not a SIP status", bytes);
        // The error path of a server: answer the malformed request if enough of it was read.
        if (m.can_respond()) {
            std::string text;
            MessageWriter w(text);
            start_response(w, m, r.error().status ? r.error().status : 400, r.error().reason, "t",
                           Source{"2001:db8::9", 5060});
            w.finish();
            touch(text);
        }
        return;
    }
    if (m.is_request() && m.can_respond()) {
        round_trip(m, limits, 100);  // never adds a To tag
        round_trip(m, limits, code);  // adds one when the request's To has none
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    static const Limits defaults{};
    static const Limits tight{512, 8, 2, 128};
    static constexpr int kCodes[] = {180, 200, 486, 503};
    int code = kCodes[size % 4];

    parse_and_exercise(bytes, Framing::datagram, defaults, code);
    parse_and_exercise(bytes, Framing::stream, defaults, code);
    parse_and_exercise(bytes, Framing::datagram, tight, code);
    exercise_framing(bytes, defaults);
    return 0;
}
