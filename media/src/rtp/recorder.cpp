#include "recorder.h"

#include <pthread.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>

#include "sb/common/log.h"

namespace sb::media::rtp {

namespace {

void put16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v);
    p[1] = static_cast<std::uint8_t>(v >> 8);
}
void put32(std::uint8_t* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// A canonical 44-byte header of 16-bit PCM; `data_bytes` is patched in when the file completes
// (readers that meet 0 take the data up to the end of the file).
std::array<std::uint8_t, 44> wav_header(std::uint32_t data_bytes) {
    std::array<std::uint8_t, 44> h{};
    const int channels = RecordingFile::kChannels;
    const int rate = RecordingFile::kRate;
    std::memcpy(h.data(), "RIFF", 4);
    put32(h.data() + 4, 36 + data_bytes);
    std::memcpy(h.data() + 8, "WAVEfmt ", 8);
    put32(h.data() + 16, 16);
    put16(h.data() + 20, 1);  // PCM
    put16(h.data() + 22, static_cast<std::uint16_t>(channels));
    put32(h.data() + 24, static_cast<std::uint32_t>(rate));
    put32(h.data() + 28, static_cast<std::uint32_t>(rate * channels * 2));
    put16(h.data() + 32, static_cast<std::uint16_t>(channels * 2));
    put16(h.data() + 34, 16);
    std::memcpy(h.data() + 36, "data", 4);
    put32(h.data() + 40, data_bytes);
    return h;
}

std::int64_t monotonic_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

RecordingFile::RecordingFile(std::string path, std::FILE* file)
    : path_(std::move(path)),
      directory_(std::filesystem::path(path_).parent_path().string()),
      file_(file) {
    packets_.reserve(64);
    applying_.reserve(64);
}

RecordingFile::~RecordingFile() {
    finish();
}

void RecordingFile::post_codecs(int channel, const PortCodecs& codecs) {
    if (channel < 0 || channel >= kChannels) return;
    std::lock_guard lock(mu_);
    codec_updates_.emplace_back(channel, codecs);
}

void RecordingFile::post_packet(int channel, std::uint32_t ssrc, std::uint16_t sequence,
                                std::uint32_t timestamp, std::uint8_t payload_type, bool marker,
                                std::span<const std::uint8_t> payload, std::int64_t arrival_ms) {
    if (channel < 0 || channel >= kChannels || payload.size() > JitterBuffer::kMaxPayload) return;
    std::lock_guard lock(mu_);
    if (stopping_ || packets_.size() >= kMaxInbox) return;  // the recorder is stalled: drop
    Packet& p = packets_.emplace_back();
    p.channel = channel;
    p.ssrc = ssrc;
    p.sequence = sequence;
    p.timestamp = timestamp;
    p.payload_type = payload_type;
    p.marker = marker;
    p.size = static_cast<std::uint16_t>(payload.size());
    p.arrival_ms = arrival_ms;
    std::copy(payload.begin(), payload.end(), p.payload.begin());
}

void RecordingFile::stop() {
    std::lock_guard lock(mu_);
    stopping_ = true;
}

bool RecordingFile::tick(std::int64_t now_ms) {
    if (file_ == nullptr) return false;
    bool stopping = false;
    {
        std::lock_guard lock(mu_);
        applying_.swap(packets_);
        for (auto& [channel, codecs] : codec_updates_) codecs_[channel] = std::move(codecs);
        codec_updates_.clear();
        stopping = stopping_;
    }
    for (const Packet& p : applying_) {
        const auto& receive = codecs_[p.channel].receive;
        auto format = std::find_if(receive.begin(), receive.end(), [&](const PayloadFormat& f) {
            return f.payload_type == p.payload_type;
        });
        if (format == receive.end()) continue;  // events, comfort noise, not negotiated
        channels_[p.channel].push(*format, p.ssrc, p.sequence, p.timestamp, p.marker,
                                  {p.payload.data(), p.size}, p.arrival_ms);
    }
    applying_.clear();

    constexpr std::size_t kFrame = kRate / 50;
    std::array<std::int16_t, kFrame> mono[kChannels]{};
    for (int c = 0; c < kChannels; ++c)
        if (!channels_[c].pull(mono[c], now_ms)) mono[c].fill(0);
    std::array<std::uint8_t, kFrame * kChannels * 2> bytes;
    for (std::size_t i = 0; i < kFrame; ++i)
        for (int c = 0; c < kChannels; ++c)
            put16(bytes.data() + (i * kChannels + static_cast<std::size_t>(c)) * 2,
                  static_cast<std::uint16_t>(mono[c][i]));
    if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) failed_ = true;
    ++frames_;
    if (stopping || failed_ || frames_ >= static_cast<std::uint64_t>(kMaxSeconds) * 50) {
        finish();
        return false;
    }
    return true;
}

void RecordingFile::finish() {
    if (file_ == nullptr) return;
    const auto data = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(frames_ * (kRate / 50) * kChannels * 2, 0xffffffffu - 36));
    const auto header = wav_header(data);
    if (std::fseek(file_, 0, SEEK_SET) == 0) std::fwrite(header.data(), 1, header.size(), file_);
    std::fclose(file_);
    file_ = nullptr;
}

Recorder::~Recorder() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

namespace {

// Bytes an unprivileged writer may still use where `directory` is; nullopt when unknown.
std::optional<std::uint64_t> free_bytes(const std::string& directory) {
    struct statvfs s {};
    if (statvfs(directory.empty() ? "." : directory.c_str(), &s) != 0) return std::nullopt;
    return std::uint64_t{s.f_bavail} * s.f_frsize;
}

std::string megabytes(std::uint64_t bytes) {
    return std::to_string(bytes / (1024 * 1024)) + " MB";
}

}  // namespace

Result<std::shared_ptr<RecordingFile>> Recorder::open(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path p(path);
    if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
    if (ec) return fail("recording: cannot make " + p.parent_path().string() + ": " + ec.message());
    if (min_free_bytes_ != 0) {
        const auto free = free_bytes(p.parent_path().string());
        if (free && *free < min_free_bytes_)
            return fail("recording: only " + megabytes(*free) + " free on " +
                        p.parent_path().string() + ", below the " + megabytes(min_free_bytes_) +
                        " recordings leave free ([media] recordings_min_free_mb)");
    }
    std::FILE* f = std::fopen(path.c_str(), "wbx");  // never overwrite another call's recording
    if (f == nullptr) return fail("recording: cannot create " + path + ": " + std::strerror(errno));
    const auto header = wav_header(0);
    std::fwrite(header.data(), 1, header.size(), f);
    auto file = std::make_shared<RecordingFile>(path, f);
    {
        std::lock_guard lock(mu_);
        files_.push_back(file);
        if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    }
    wake_.notify_all();
    return file;
}

void Recorder::run() {
    pthread_setname_np(pthread_self(), "sb-record");
    std::unique_lock lock(mu_);
    auto next = std::chrono::steady_clock::now();
    while (!stop_) {
        if (files_.empty()) {
            wake_.wait(lock, [&] { return stop_ || !files_.empty(); });
            next = std::chrono::steady_clock::now();
            continue;
        }
        next += std::chrono::milliseconds(20);
        if (wake_.wait_until(lock, next, [&] { return stop_; })) break;
        // Ticks run without the lock (a write may block), on a copy of the list.
        std::vector<std::shared_ptr<RecordingFile>> files = files_;
        lock.unlock();
        if (min_free_bytes_ != 0 && ++ticks_ % kFreeCheckTicks == 0) stop_on_full_disks(files);
        const std::int64_t now = monotonic_ms();
        std::vector<RecordingFile*> done;
        for (auto& f : files)
            if (!f->tick(now)) done.push_back(f.get());
        lock.lock();
        std::erase_if(files_, [&](const auto& f) {
            return std::find(done.begin(), done.end(), f.get()) != done.end();
        });
        // Far behind (a disk stall): do not try to catch up with a burst of ticks.
        if (std::chrono::steady_clock::now() - next > std::chrono::milliseconds(200))
            next = std::chrono::steady_clock::now();
    }
    for (auto& f : files_) f->stop();
    files_.clear();  // each completes its file as it goes
}

void Recorder::stop_on_full_disks(const std::vector<std::shared_ptr<RecordingFile>>& files) {
    for (const auto& f : files) {
        const auto free = free_bytes(f->directory());
        if (!free || *free >= min_free_bytes_) continue;
        SB_WARN("media", "recording {} ends: only {} free, below the {} recordings leave free",
                f->path(), megabytes(*free), megabytes(min_free_bytes_));
        f->stop();  // its next tick completes the file
    }
}

}  // namespace sb::media::rtp
