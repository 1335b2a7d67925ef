#pragma once
// What is wrong with a message, as a SIP status and a reason phrase that says it
// (e.g. 400 "Bad CSeq"). The reason is a string literal: reporting an error allocates nothing.
namespace sb::sip {

struct SipError {
    int status = 400;
    const char* reason = "Bad Request";
};

}  // namespace sb::sip
