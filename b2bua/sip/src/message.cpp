#include "sb/sip/message.h"

#include <algorithm>

namespace sb::sip {

Message::Message() { std::fill(std::begin(first_), std::end(first_), kNone); }

const HeaderField* Message::find(HeaderId id) const {
    std::uint16_t i = first_[static_cast<std::size_t>(id)];
    return i == kNone ? nullptr : &headers()[i];
}

const HeaderField* Message::find(std::string_view name) const {
    HeaderId id = header_id(name);
    if (id != HeaderId::other) return find(id);
    for (const HeaderField& f : headers())
        if (f.id == HeaderId::other && iequals(f.name, name)) return &f;
    return nullptr;
}

}  // namespace sb::sip
