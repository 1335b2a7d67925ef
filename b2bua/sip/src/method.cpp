#include "sb/sip/method.h"

namespace sb::sip {

namespace {
constexpr std::string_view kNames[] = {"",        "INVITE",  "ACK",     "BYE",      "CANCEL",
                                       "REGISTER", "OPTIONS", "INFO",    "UPDATE",   "PRACK",
                                       "SUBSCRIBE", "NOTIFY", "REFER",   "MESSAGE",  "PUBLISH"};
}

Method method_from_text(std::string_view t) {
    // Dispatch on the first byte: each candidate is then one memcmp.
    switch (t.empty() ? '\0' : t[0]) {
        case 'I':
            if (t == "INVITE") return Method::INVITE;
            if (t == "INFO") return Method::INFO;
            break;
        case 'A':
            if (t == "ACK") return Method::ACK;
            break;
        case 'B':
            if (t == "BYE") return Method::BYE;
            break;
        case 'C':
            if (t == "CANCEL") return Method::CANCEL;
            break;
        case 'R':
            if (t == "REGISTER") return Method::REGISTER;
            if (t == "REFER") return Method::REFER;
            break;
        case 'O':
            if (t == "OPTIONS") return Method::OPTIONS;
            break;
        case 'U':
            if (t == "UPDATE") return Method::UPDATE;
            break;
        case 'P':
            if (t == "PRACK") return Method::PRACK;
            if (t == "PUBLISH") return Method::PUBLISH;
            break;
        case 'S':
            if (t == "SUBSCRIBE") return Method::SUBSCRIBE;
            break;
        case 'N':
            if (t == "NOTIFY") return Method::NOTIFY;
            break;
        case 'M':
            if (t == "MESSAGE") return Method::MESSAGE;
            break;
        default:
            break;
    }
    return Method::extension;
}

std::string_view to_string(Method m) { return kNames[static_cast<int>(m)]; }

}  // namespace sb::sip
