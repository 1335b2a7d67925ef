#include "sb/media/codec/codec.h"

#include <algorithm>
#include <charconv>
#include <string>

#include "codecs.h"

namespace sb::media::codec {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// The rate a codec works at for a requested `rate` (0: native), or 0 if it cannot.
int resolve_rate(CodecId id, int rate) {
    if (rate == 0) return native_sample_rate(id);
    switch (id) {
        case CodecId::pcmu:
        case CodecId::pcma:
            return rate == 8000 ? rate : 0;
        case CodecId::g722:
            return rate == 8000 || rate == 16000 ? rate : 0;
        case CodecId::opus:  // the rates libopus codes at natively (RFC 6716 2)
            return rate == 8000 || rate == 12000 || rate == 16000 || rate == 24000 || rate == 48000
                       ? rate
                       : 0;
    }
    return 0;
}

std::string rate_error(CodecId id, int rate) {
    return std::string(to_string(id)) + ": cannot work at " + std::to_string(rate) + " Hz";
}

Status check_range(std::string_view what, int value, int low, int high) {
    if (value >= low && value <= high) return {};
    return fail(std::string(what) + " " + std::to_string(value) + " is outside " +
                std::to_string(low) + ".." + std::to_string(high));
}

}  // namespace

std::string_view to_string(CodecId id) {
    switch (id) {
        case CodecId::pcmu:
            return "PCMU";
        case CodecId::pcma:
            return "PCMA";
        case CodecId::g722:
            return "G722";
        case CodecId::opus:
            return "opus";
    }
    return "?";
}

std::optional<CodecId> codec_from_sdp(std::string_view encoding, int clock_rate, int channels) {
    if (iequals(encoding, "opus")) {
        // RFC 7587 7: "opus/48000/2" always; tolerate the channel count left out.
        if (clock_rate == 48000 && (channels == 2 || channels == 1)) return CodecId::opus;
        return std::nullopt;
    }
    if (channels != 1 || clock_rate != 8000) return std::nullopt;
    if (iequals(encoding, "PCMU")) return CodecId::pcmu;
    if (iequals(encoding, "PCMA")) return CodecId::pcma;
    if (iequals(encoding, "G722")) return CodecId::g722;  // 8000: RFC 3551 4.5.2
    return std::nullopt;
}

int rtp_clock_rate(CodecId id) {
    return id == CodecId::opus ? 48000 : 8000;
}

int native_sample_rate(CodecId id) {
    switch (id) {
        case CodecId::pcmu:
        case CodecId::pcma:
            return 8000;
        case CodecId::g722:
            return 16000;
        case CodecId::opus:
            return 48000;
    }
    return 8000;
}

std::optional<int> static_payload_type(CodecId id) {
    switch (id) {
        case CodecId::pcmu:
            return 0;
        case CodecId::pcma:
            return 8;
        case CodecId::g722:
            return 9;
        case CodecId::opus:
            return std::nullopt;
    }
    return std::nullopt;
}

std::string_view error_name(int result) {
    switch (result) {
        case kErrorInvalidInput:
            return "invalid input";
        case kErrorOutputTooSmall:
            return "output too small";
        case kErrorCodec:
            return "codec error";
    }
    return result < 0 ? "unknown error" : "no error";
}

Result<EncoderOptions> apply_opus_fmtp(std::string_view fmtp, const EncoderOptions& base) {
    EncoderOptions o = base;
    while (!fmtp.empty()) {
        const std::size_t semi = fmtp.find(';');
        const std::string_view item = trim(fmtp.substr(0, semi));
        fmtp = semi == std::string_view::npos ? std::string_view() : fmtp.substr(semi + 1);
        if (item.empty()) continue;
        const std::size_t eq = item.find('=');
        const std::string_view key = trim(item.substr(0, eq));
        const bool known = iequals(key, "maxaveragebitrate") || iequals(key, "useinbandfec") ||
                           iequals(key, "usedtx") || iequals(key, "maxplaybackrate");
        if (!known) continue;
        const std::string_view text =
            eq == std::string_view::npos ? std::string_view() : trim(item.substr(eq + 1));
        int value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size())
            return fail("Opus fmtp: " + std::string(key) + " needs a number, has \"" +
                        std::string(text) + "\"");
        Status in_range;
        if (iequals(key, "maxaveragebitrate")) {
            in_range = check_range("Opus fmtp: maxaveragebitrate", value, 6000, 510000);
            o.bitrate = std::min(o.bitrate, value);
        } else if (iequals(key, "maxplaybackrate")) {
            in_range = check_range("Opus fmtp: maxplaybackrate", value, 8000, 48000);
            o.max_audio_rate = std::min(o.max_audio_rate, value);
        } else {
            const bool fec = iequals(key, "useinbandfec");
            in_range =
                check_range(fec ? "Opus fmtp: useinbandfec" : "Opus fmtp: usedtx", value, 0, 1);
            (fec ? o.inband_fec : o.dtx) = value == 1;
        }
        if (!in_range) return unexpected(in_range.error());
    }
    return o;
}

Result<std::unique_ptr<Encoder>> make_encoder(CodecId id, const EncoderOptions& options) {
    const int rate = resolve_rate(id, options.sample_rate);
    if (rate == 0) return fail(rate_error(id, options.sample_rate));
    switch (id) {
        case CodecId::pcmu:
        case CodecId::pcma:
            return make_g711_encoder(id);
        case CodecId::g722:
            return make_g722_encoder(rate);
        case CodecId::opus:
            break;
    }
    for (const Status& s :
         {check_range("Opus complexity", options.complexity, 0, 10),
          check_range("Opus bitrate", options.bitrate, 6000, 510000),
          check_range("Opus packet loss percent", options.packet_loss_percent, 0, 100),
          check_range("Opus max audio rate", options.max_audio_rate, 8000, 48000)})
        if (!s) return unexpected(s.error());
    return make_opus_encoder(options, rate);
}

Result<std::unique_ptr<Decoder>> make_decoder(CodecId id, int sample_rate) {
    const int rate = resolve_rate(id, sample_rate);
    if (rate == 0) return fail(rate_error(id, sample_rate));
    switch (id) {
        case CodecId::pcmu:
        case CodecId::pcma:
            return make_g711_decoder(id);
        case CodecId::g722:
            return make_g722_decoder(rate);
        case CodecId::opus:
            break;
    }
    return make_opus_decoder(rate);
}

}  // namespace sb::media::codec
