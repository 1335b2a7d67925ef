#pragma once
// A SIP dialog (RFC 3261 section 12) as one side of a B2BUA call leg sees it: the identifiers,
// the CSeq spaces, the remote target and route set, and how to build requests within it.
//
// Knows SIP messages, not calls: b2bua/call keeps one Dialog per leg. Plain data plus functions;
// no threading concerns (a dialog belongs to its call's shard).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sb/common/endpoint.h"
#include "sb/common/result.h"
#include "sb/sip/message.h"

namespace sb::dialog {

struct Dialog {
    std::string call_id;
    std::string local_tag;
    std::string remote_tag;              // empty until the UAC side sees a To tag
    std::string local_uri;               // our From (as UAC) or To (as UAS) value, without the tag
    std::string remote_uri;              // the peer's, without the tag
    std::string remote_target;           // the peer's Contact URI (12.1.1, 12.1.2; refreshed 12.2)
    std::vector<std::string> route_set;  // Route values in the order they are sent
    std::string local_contact;           // our Contact value, e.g. "<sip:sb@192.0.2.1:5060>"
    std::uint32_t local_cseq = 0;        // the last CSeq we sent
    std::uint32_t remote_cseq = 0;       // the last CSeq the peer sent
    bool remote_cseq_known = false;
    // Where the peer is reached: the address its requests really came from (phones behind NAT),
    // or the stream connection. Requests are sent here rather than resolved from the target.
    Flow peer;
};

// 12.1.1: the dialog a UAS forms by answering `invite` with `local_tag`. Fails when the INVITE
// has no usable Contact (RFC 3261 8.1.1.8 makes it mandatory).
Result<Dialog> uas_dialog(const sip::Message& invite, std::string_view local_tag, const Flow& flow,
                          std::string local_contact);

// 12.1.2: completes a UAC dialog (call_id, local_tag, local_uri, remote_uri, local_cseq, peer,
// local_contact already set) from a response with a To tag: remote tag, target, route set
// (Record-Route reversed). A 1xx forms an early dialog; the 2xx confirms it (and sets it anew).
void uac_establish(Dialog& d, const sip::Message& response);

// 12.2.1.2 / 12.2.2: a target refresh request (re-INVITE, UPDATE) or its 2xx replaces the remote
// target with its Contact, if it has one.
void refresh_target(Dialog& d, const sip::Message& m);

// 12.2.2: a request whose CSeq is lower than the last one is out of order (answer 500).
// Otherwise records the CSeq and returns true.
bool accept_remote_cseq(Dialog& d, std::uint32_t cseq);

// What a request within the dialog carries besides the dialog's own fields.
struct RequestParts {
    std::string_view method{};         // "BYE", "INVITE", ...
    std::string_view branch{};         // from TransactionLayer::make_branch()
    std::string_view sent_by{};        // our Via sent-by, "192.0.2.1:5060" or "[2001:db8::1]:5060"
    std::string_view extra_headers{};  // complete "Name: value\r\n" lines
    std::string_view content_type{};   // with a body
    std::string_view body{};
    int max_forwards = 70;
};

// 12.2.1.1: a request within the dialog (not ACK); takes the next local CSeq.
std::string build_request(Dialog& d, const RequestParts& p);
// 13.2.2.4: the ACK for a 2xx to the INVITE whose CSeq number was `invite_cseq` (a new branch;
// the body carries the answer when the 2xx carried the offer).
std::string build_ack(const Dialog& d, std::uint32_t invite_cseq, const RequestParts& p);

// "UDP", "TCP", "TLS" for a Via.
std::string_view via_transport(TransportKind k);

}  // namespace sb::dialog
