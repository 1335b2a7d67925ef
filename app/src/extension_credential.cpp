#include "extension_credential.h"

#include "sb/common/log.h"
#include "sb/media/dsp/tones.h"

namespace sb::app {

bool ToneWarnings::first(std::string_view number, std::string_view code) {
    std::lock_guard lock(mu_);
    auto [it, added] = code_of_.try_emplace(std::string(number), code);
    if (added) return true;
    if (it->second == code) return false;
    it->second = code;
    return true;
}

void ToneWarnings::forget(std::string_view number) {
    std::lock_guard lock(mu_);
    code_of_.erase(std::string(number));
}

registrar::Credential to_credential(const db::Extension& e, ToneWarnings& warnings) {
    // The database's CHECK holds media to "direct" or "anchor" (migration 005), as the B2BUA
    // takes it; tones are checked below.
    registrar::Credential c{e.number,     e.display_name, e.realm,      e.ha1_md5,
                            e.ha1_sha256, e.enabled,      std::nullopt, e.media};
    if (!e.tones) {
        warnings.forget(e.number);
        return c;
    }
    auto plan = media::dsp::find_tone_plan(*e.tones);
    if (plan) {
        c.tones = std::string((*plan)->country);
        warnings.forget(e.number);
    } else if (warnings.first(e.number, *e.tones)) {
        SB_WARN("app", "extension {}: tones: {}; its calls hear the system's plan ([media] tones)",
                e.number, plan.error().message);
    }
    return c;
}

}  // namespace sb::app
