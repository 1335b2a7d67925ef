#pragma once
// Test doubles for the transaction layer: a Sender that records what was sent (and can fail), users
// that record what they were told, a FakeClock driving the TimerWheel, and builders for messages.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sb/common/clock.h"
#include "sb/common/timer_wheel.h"
#include "sb/sip/message.h"
#include "sb/txn/transaction_layer.h"

namespace sb::txn::testing {

using namespace std::chrono_literals;

inline std::string crlf(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\n') out += "\r\n";
        else out += c;
    }
    return out;
}

inline sip::Message parse(std::string_view text) {
    sip::Message m;
    auto r = sip::parse_message(text, sip::Framing::datagram, sip::Limits{}, m);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().reason) << "\n" << text;
    return m;
}

inline sb::Flow udp_flow(std::string_view remote = "192.0.2.10:5070") {
    sb::Flow f;
    f.transport = TransportKind::udp;
    f.local = *Endpoint::from_string("198.51.100.1:5060");
    f.remote = *Endpoint::from_string(remote);
    return f;
}

inline sb::Flow tcp_flow(std::uint64_t conn = 7) {
    sb::Flow f;
    f.transport = TransportKind::tcp;
    f.local = *Endpoint::from_string("198.51.100.1:5060");
    f.remote = *Endpoint::from_string("192.0.2.10:49152");
    f.connection_id = conn;
    return f;
}

// A request as a phone would send it; every field can be changed.
struct Req {
    std::string method = "INVITE";
    std::string uri = "sip:200@pbx.example.com";
    std::string transport = "UDP";
    std::string via_host = "192.0.2.10";
    std::string via_port = "5070";  // empty: no port
    std::string branch = "z9hG4bKabc123";  // empty: no branch parameter
    bool rport = false;
    std::string from_tag = "ftag1";
    std::string to_tag;
    std::string call_id = "call-1@192.0.2.10";
    int cseq = 1;
    std::string cseq_method;  // empty: the method
    std::string extra;        // more header lines, each ending in \n

    std::string via_value() const {
        std::string v = "SIP/2.0/" + transport + " " + via_host + (via_port.empty() ? "" : ":" + via_port);
        if (!branch.empty()) v += ";branch=" + branch;
        if (rport) v += ";rport";
        return v;
    }
    std::string text() const {
        std::string s = method + " " + uri + " SIP/2.0\n";
        s += "Via: " + via_value() + "\n";
        s += "Max-Forwards: 70\n";
        s += "From: \"Alice\" <sip:100@pbx.example.com>;tag=" + from_tag + "\n";
        s += "To: <sip:200@pbx.example.com>" + (to_tag.empty() ? "" : ";tag=" + to_tag) + "\n";
        s += "Call-ID: " + call_id + "\n";
        s += "CSeq: " + std::to_string(cseq) + " " + (cseq_method.empty() ? method : cseq_method) + "\n";
        s += extra;
        s += "Content-Length: 0\n\n";
        return crlf(s);
    }
    sip::Message msg() const { return parse(text()); }
    // The same request as method `m` (ACK, CANCEL), keeping Via, tags, Call-ID and CSeq number.
    Req as(std::string m) const {
        Req r = *this;
        r.method = std::move(m);
        r.cseq_method.clear();
        return r;
    }
};

// A response to `req` (its Via, From, To with `to_tag`, Call-ID, CSeq).
inline std::string response(const Req& req, int status, std::string_view to_tag = "ttag9",
                            std::string_view reason = "Reason") {
    std::string s = "SIP/2.0 " + std::to_string(status) + " " + std::string(reason) + "\n";
    s += "Via: " + req.via_value() + "\n";
    s += "From: \"Alice\" <sip:100@pbx.example.com>;tag=" + req.from_tag + "\n";
    std::string tag = !req.to_tag.empty() ? req.to_tag : std::string(to_tag);
    s += "To: <sip:200@pbx.example.com>" + (tag.empty() || status == 100 ? "" : ";tag=" + tag) + "\n";
    s += "Call-ID: " + req.call_id + "\n";
    s += "CSeq: " + std::to_string(req.cseq) + " " + (req.cseq_method.empty() ? req.method : req.cseq_method) + "\n";
    s += "Content-Length: 0\n\n";
    return crlf(s);
}

struct FakeSender : Sender {
    struct Sent {
        sb::Flow flow;
        std::string bytes;
        TimePoint at;
    };
    explicit FakeSender(const Clock& c) : clock(c) {}
    sb::Status send(const sb::Flow& flow, std::string_view bytes) override {
        if (fail) return sb::fail("connection gone");
        sent.push_back({flow, std::string(bytes), clock.now()});
        return {};
    }
    // Times (ms) at which a message starting with `start` was sent.
    std::vector<std::int64_t> times(std::string_view start) const {
        std::vector<std::int64_t> out;
        for (const Sent& s : sent)
            if (s.bytes.starts_with(start)) out.push_back(s.at.time_since_epoch().count());
        return out;
    }
    std::size_t count(std::string_view start) const { return times(start).size(); }
    sip::Message last() const { return parse(sent.back().bytes); }
    const Clock& clock;
    std::vector<Sent> sent;
    bool fail = false;
};

struct RecordingServerUser : ServerUser {
    struct Request {
        ServerTxnId id;
        std::string raw;
        sb::Flow flow;
    };
    void on_request(ServerTxnId id, const sip::Message& request, const sb::Flow& flow) override {
        requests.push_back({id, std::string(request.raw()), flow});
        if (on_request_hook) on_request_hook(id, request, flow);
    }
    void on_ack(const sip::Message& ack, const sb::Flow&) override { acks.emplace_back(ack.raw()); }
    void on_transport_error(ServerTxnId id) override {
        transport_errors.push_back(id);
        if (in_call) nested_callback = true;
    }
    void on_timeout(ServerTxnId id) override {
        timeouts.push_back(id);
        if (in_call) nested_callback = true;
    }
    std::vector<Request> requests;
    std::vector<std::string> acks;
    std::vector<ServerTxnId> transport_errors, timeouts;
    std::function<void(ServerTxnId, const sip::Message&, const sb::Flow&)> on_request_hook;
    bool in_call = false;          // set by tests around their calls into the layer
    bool nested_callback = false;  // a notification arrived while in_call
};

struct RecordingClientUser : ClientUser {
    void on_response(ClientTxnId id, const sip::Message& r) override {
        responses.push_back({id, r.status(), std::string(r.raw())});
        if (on_response_hook) on_response_hook(id, r);
    }
    void on_timeout(ClientTxnId id) override { timeouts.push_back(id); }
    void on_transport_error(ClientTxnId id) override { transport_errors.push_back(id); }
    struct Response {
        ClientTxnId id;
        int status;
        std::string raw;
    };
    std::vector<int> statuses() const {
        std::vector<int> s;
        for (auto& r : responses) s.push_back(r.status);
        return s;
    }
    std::vector<Response> responses;
    std::vector<ClientTxnId> timeouts, transport_errors;
    std::function<void(ClientTxnId, const sip::Message&)> on_response_hook;
};

class TxnTest : public ::testing::Test {
protected:
    FakeClock clock;
    TimerWheel wheel{clock.now()};
    FakeSender sender{clock};
    RecordingServerUser server_user;
    std::unique_ptr<TransactionLayer> layer = std::make_unique<TransactionLayer>(clock, wheel, sender, server_user);

    void configure(TxnConfig config) {
        layer = std::make_unique<TransactionLayer>(clock, wheel, sender, server_user, std::move(config));
    }

    std::int64_t now_ms() const { return clock.now().time_since_epoch().count(); }

    // Runs the event loop as an ideal one would: every timer fires at its deadline.
    void run_until(std::int64_t ms) {
        for (;;) {
            auto next = wheel.next_deadline();
            if (!next || next->time_since_epoch().count() > ms) break;
            if (*next > clock.now()) clock.advance(*next - clock.now());
            wheel.advance(clock.now());
        }
        if (Duration(ms) > clock.now().time_since_epoch()) clock.advance(Duration(ms) - clock.now().time_since_epoch());
        wheel.advance(clock.now());
    }
    void run_for(Duration d) { run_until(now_ms() + d.count()); }

    void receive(const std::string& text, const sb::Flow& flow = udp_flow()) { layer->receive(parse(text), flow); }
    void receive(const Req& r, const sb::Flow& flow = udp_flow()) { receive(r.text(), flow); }

    ServerTxnId last_server_id() const {
        return server_user.requests.empty() ? ServerTxnId{} : server_user.requests.back().id;
    }
};

}  // namespace sb::txn::testing
