#pragma once
// Call recordings: a stereo WAV file per recording (8 kHz, 16-bit: left what one leg says, right
// what the other says, as call-centre recorders keep the parties apart), written by one thread
// of its own ("sb-record"), so that a slow disk never stalls a relay worker. The ports' workers
// hand each recording the packets their legs send (post_packet, through a mutex-guarded inbox as
// conference rooms do); every 20 ms the recorder thread decodes a frame per channel through an
// adaptive jitter buffer (decoded_leg.h), silence where a leg said nothing, and appends it.
// Private to sb_media.
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "decoded_leg.h"
#include "sb/common/result.h"
#include "sb/media/rtp/jitter_buffer.h"
#include "sb/media/rtp/media_port.h"

namespace sb::media::rtp {

class RecordingFile {
  public:
    static constexpr int kRate = 8000;
    static constexpr int kChannels = 2;
    static constexpr std::int64_t kMaxSeconds = 4 * 3600;  // bounds one call's disk use
    static constexpr std::size_t kMaxInbox = 256;          // packets between two ticks

    RecordingFile(std::string path, std::FILE* file);
    ~RecordingFile();  // completes the file if the recorder did not
    const std::string& path() const { return path_; }
    const std::string& directory() const { return directory_; }

    // Any thread (the ports' workers, the shard).
    void post_codecs(int channel, const PortCodecs& codecs);
    void post_packet(int channel, std::uint32_t ssrc, std::uint16_t sequence,
                     std::uint32_t timestamp, std::uint8_t payload_type, bool marker,
                     std::span<const std::uint8_t> payload, std::int64_t arrival_ms);
    void stop();

    // The recorder thread: one 20 ms frame; false once the file is complete (stopped, too long,
    // or the disk refused a write).
    bool tick(std::int64_t now_ms);
    std::uint64_t frames_written() const { return frames_; }

  private:
    struct Packet {
        int channel = 0;
        std::uint32_t ssrc = 0;
        std::uint16_t sequence = 0;
        std::uint32_t timestamp = 0;
        std::uint8_t payload_type = 0;
        bool marker = false;
        std::uint16_t size = 0;
        std::int64_t arrival_ms = 0;
        std::array<std::uint8_t, JitterBuffer::kMaxPayload> payload;
    };
    void finish();  // patches the WAV header's sizes and closes

    const std::string path_;
    const std::string directory_;  // where its free space is measured
    std::FILE* file_;
    std::mutex mu_;
    std::vector<Packet> packets_;
    std::vector<std::pair<int, PortCodecs>> codec_updates_;
    bool stopping_ = false;

    // The recorder thread's.
    std::vector<Packet> applying_;
    PortCodecs codecs_[kChannels];
    DecodedLeg channels_[kChannels] = {DecodedLeg(kRate), DecodedLeg(kRate)};
    std::uint64_t frames_ = 0;
    bool failed_ = false;
};

// The thread that ticks every recording in progress.
class Recorder {
  public:
    static constexpr int kFreeCheckTicks = 50;  // the free space is looked at once a second

    // `min_free_bytes`: RelayConfig::recording_min_free_mb.
    explicit Recorder(std::uint64_t min_free_bytes = 0) : min_free_bytes_(min_free_bytes) {}
    ~Recorder();  // completes every file
    Recorder(const Recorder&) = delete;
    Recorder& operator=(const Recorder&) = delete;

    // Creates the file (and its directories) and starts recording into it.
    Result<std::shared_ptr<RecordingFile>> open(const std::string& path);

  private:
    void run();
    // Ends the recordings whose filesystem has less than min_free_bytes_ free.
    void stop_on_full_disks(const std::vector<std::shared_ptr<RecordingFile>>& files);

    const std::uint64_t min_free_bytes_;
    std::mutex mu_;
    std::condition_variable wake_;
    std::vector<std::shared_ptr<RecordingFile>> files_;
    std::uint64_t ticks_ = 0;  // the recorder thread's
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace sb::media::rtp
