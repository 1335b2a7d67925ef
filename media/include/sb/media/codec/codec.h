#pragma once
// The audio codecs the media engine transcodes between when the two legs of a call share none:
// it decodes one leg's RTP payload to 16-bit linear PCM (mono) and encodes it for the other.
// Legs that share a codec relay the payload untouched and never come here.
//
// One Encoder and one Decoder per leg and direction, made once when the leg starts transcoding;
// encode()/decode()/conceal() run once per packet on the media worker's hot path: no allocation,
// no exceptions, one virtual call per frame. Not thread-safe: one thread at a time per object.
//
// Results: a byte or sample count, or one of the negative kError* values below, which mean the
// same thing everywhere.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "sb/common/result.h"

namespace sb::media::codec {

enum class CodecId : std::uint8_t { pcmu, pcma, g722, opus };

// The encoding name as SDP writes it ("PCMU", "PCMA", "G722", "opus").
std::string_view to_string(CodecId id);
// The codec of an a=rtpmap (or a static payload type's RFC 3551 entry), the name compared
// case-insensitively (RFC 4855 3). G.722's RTP clock is 8000 although it samples at 16 kHz
// (RFC 3551 4.5.2); Opus is always "opus/48000/2" whatever it carries (RFC 7587 7). Channels
// must be 1 for the others.
std::optional<CodecId> codec_from_sdp(std::string_view encoding, int clock_rate, int channels = 1);
// The RTP timestamp rate: 8000, 8000, 8000 and 48000.
int rtp_clock_rate(CodecId id);
// The PCM rate the codec natively takes and gives: 8000, 8000, 16000 and 48000.
int native_sample_rate(CodecId id);
// The static payload type (RFC 3551 Table 4): 0, 8, 9; Opus has none.
std::optional<int> static_payload_type(CodecId id);

// What encode()/decode()/conceal() return instead of a count.
inline constexpr int kErrorInvalidInput = -1;    // empty, oversized or not a valid frame size
inline constexpr int kErrorOutputTooSmall = -2;  // `out` cannot hold the result
inline constexpr int kErrorCodec = -3;           // the codec library refused (a corrupt packet)
std::string_view error_name(int result);

// The longest frame any codec here takes or gives: Opus packets carry up to 120 ms (RFC 6716
// 3.2.5); the others accept as much in one call.
inline constexpr int kMaxFrameMs = 120;
inline constexpr int kMaxFrameSamples = 48000 * kMaxFrameMs / 1000;  // at the highest rate
// An `out` for encode() that always suffices: libopus's recommended size (opus_encode()); G.711
// needs 960 bytes for 120 ms, G.722 as much.
inline constexpr int kMaxPayloadBytes = 4000;

class Encoder {
  public:
    virtual ~Encoder() = default;
    virtual CodecId id() const = 0;
    // The PCM rate encode() takes (see EncoderOptions::sample_rate for Opus).
    virtual int sample_rate() const = 0;
    int rtp_clock_rate() const { return codec::rtp_clock_rate(id()); }

    // Encodes one frame of sample_rate() mono PCM into an RTP payload; returns its size in
    // bytes. G.711 and G.722 take any number of samples up to kMaxFrameMs (G.722 an even
    // number); Opus a frame of 2.5, 5, 10, 20, 40 or 60 ms. For Opus `out.size()` caps the
    // packet (libopus lowers the bitrate to fit), so give it kMaxPayloadBytes.
    virtual int encode(std::span<const std::int16_t> pcm, std::span<std::uint8_t> out) = 0;
};

class Decoder {
  public:
    virtual ~Decoder() = default;
    virtual CodecId id() const = 0;
    // The PCM rate decode() gives.
    virtual int sample_rate() const = 0;
    int rtp_clock_rate() const { return codec::rtp_clock_rate(id()); }

    // How many samples (at sample_rate()) a payload decodes to, without decoding it; negative if
    // it is not a valid payload. For sizing `out` and concealing a lost packet of the same
    // length.
    virtual int samples_in(std::span<const std::uint8_t> payload) const = 0;

    // Decodes one RTP payload; returns the number of samples written.
    virtual int decode(std::span<const std::uint8_t> payload, std::span<std::int16_t> out) = 0;

    // Writes `samples` of audio in place of a lost packet; returns `samples`. Opus uses its own
    // packet loss concealment; G.711 and G.722 repeat the last pitch period and fade it to
    // silence over 60 ms (after ITU-T G.711 Appendix I), then crossfade into the next frame
    // decoded. Opus needs `samples` to be a multiple of 2.5 ms.
    virtual int conceal(std::span<std::int16_t> out, int samples) = 0;

    // For a lost packet whose successor arrived: recovers it from the in-band FEC (LBRR) that
    // Opus carries in `next_payload` (RFC 6716 2.1.7), then decode `next_payload` as usual. Falls
    // back to concealment if the packet carries none; other codecs always conceal.
    virtual int decode_fec(std::span<const std::uint8_t> next_payload, std::span<std::int16_t> out,
                           int samples) {
        return conceal(out, samples);
    }

    // Forgets the stream (a new source: RTP SSRC changed).
    virtual void reset() = 0;
};

// Opus encoder settings (ignored by the other codecs), starting from values for telephony:
// 32 kbit/s is wideband speech with room for FEC at 5 % loss.
struct EncoderOptions {
    // The PCM rate encode() takes: 0 for the codec's native rate. Opus may also take 8000, 12000,
    // 16000 or 24000 directly, which saves a resampler when the other leg is narrowband; G.722
    // 8000 (SpanDSP's narrowband mode); G.711 only 8000.
    int sample_rate = 0;
    int complexity = 5;           // 0..10: 5 is half the CPU of 10 and nearly as good for speech
    int bitrate = 32000;          // bit/s, 6000..510000 (RFC 7587 6.1 maxaveragebitrate range)
    bool inband_fec = true;       // LBRR (RFC 6716 2.1.7), used when loss is expected
    int packet_loss_percent = 5;  // 0..100: the loss FEC is tuned for
    bool dtx = false;             // discontinuous transmission: tiny packets in silence
    // The highest audio sampling rate coded, 8000..48000 (RFC 7587 maxplaybackrate's unit; for
    // libopus a bandwidth: 8000 narrowband .. 48000 fullband). Wideband by default: what we
    // transcode into Opus comes from G.711 or G.722 legs and has nothing above 7 kHz, and
    // libopus 1.3 puts FEC in its packets at 32 kbit/s and 5 % loss only in the SILK-only
    // wideband mode (fullband chooses hybrid mode, which then carries none below 10 % loss or
    // 40 kbit/s: measured with codec_test's FEC case).
    int max_audio_rate = 16000;
};

// Applies the remote side's a=fmtp parameters for Opus (RFC 7587 6.1) to `base`: its receive
// preferences bound what we send. maxaveragebitrate lowers the bitrate, useinbandfec=0 turns
// FEC off, usedtx sets DTX, maxplaybackrate lowers max_audio_rate. A parameter that is absent
// leaves `base` as it is: in particular FEC stays on when useinbandfec is not given, although
// the RFC's default is 0, because the parameter is only a preference and every decoder can skip
// FEC. Other parameters (stereo, cbr, ptime, sprop-*) are ignored. Fails on a value that is not a
// number or is out of range, naming the parameter; the caller then keeps `base`.
Result<EncoderOptions> apply_opus_fmtp(std::string_view fmtp, const EncoderOptions& base = {});

// Both fail on options out of range or if the codec library cannot make its state.
Result<std::unique_ptr<Encoder>> make_encoder(CodecId id, const EncoderOptions& options = {});
// `sample_rate` 0 for the codec's native rate; Opus also decodes to 8000, 12000, 16000 or 24000.
Result<std::unique_ptr<Decoder>> make_decoder(CodecId id, int sample_rate = 0);

}  // namespace sb::media::codec
