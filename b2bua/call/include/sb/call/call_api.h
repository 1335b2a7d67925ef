#pragma once
// CallApi: the only way the routing logic (the Lua dialplan) reaches a call. The script asks, the
// call does: every side effect goes through this interface, so the same script runs against the
// B2BUA's real call and against dialplan::SimulatedCall (unit tests, `switchboard dialplan
// simulate`). It lives in b2bua/call because the dependency runs dialplan -> b2bua/call.
//
// Threading: a CallApi is used only on the shard thread that owns its call, from inside
// Engine::start/resume. Implementations must not throw; the engine catches anything that escapes
// anyway, because no exception may cross the Lua C boundary.
//
// Lifetimes: string_views returned by the read-only facts must stay valid until the next call on
// the same CallApi (the B2BUA returns views into the A-leg's INVITE). string_views passed in are
// valid only during the call: copy what you keep.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sb::call {

enum class LogLevel { debug, info, warn, error };

// Where a bridge's media goes. automatic: as the extensions say (direct when the caller and
// every destination are extensions whose media setting is "direct", else the system's [media]
// mode); direct: RTP straight between the phones; anchor: through the PBX's media engine. Direct
// media is taken only while the PBX's media has done nothing for the caller yet (no early answer,
// prompt, tone, key collection, recording or conference): then the call stays anchored.
enum class BridgeMedia : std::uint8_t { automatic, direct, anchor };
std::string_view to_string(BridgeMedia m);  // "auto", "direct", "anchor"

// What a bridge asks for: ring the destinations at once (simultaneous) or one after another
// (sequential, `timeout_s` each), the first answer wins.
struct BridgeRequest {
    std::span<const std::string_view> destinations;  // extension numbers or SIP URIs
    int timeout_s = 30;
    bool sequential = false;
    BridgeMedia media = BridgeMedia::automatic;
};

// How a wait ended. `code` is the SIP status that decided it (200, 486, 480, 404, 503 ...).
// A wait other than a bridge ends answered (it did what was asked) or failed (it could not).
enum class BridgeResult { answered, busy, noanswer, unavailable, failed };
struct Outcome {
    BridgeResult result = BridgeResult::failed;
    int code = 0;
    std::string digits{};  // collect_digits(), answered: the keys pressed (maybe none)
    std::string reason{};  // a wait that failed before it began: why, for the script
};
std::string_view to_string(BridgeResult r);
std::optional<BridgeResult> parse_bridge_result(std::string_view s);

// How the caller takes part in a conference room (conference()).
struct ConferenceRequest {
    bool muted = false;   // joins listening only; the mute key still toggles it
    char mute_key = '*';  // the DTMF key (0-9, *, #, A-D) that toggles mute; 0: none
    bool chimes = true;   // the room hears a chime when the caller joins and leaves
    // The prompt the caller hears on joining an empty room ("" for none; a default prompt
    // that is missing is left out quietly).
    std::string alone_prompt = std::string(kDefaultAlonePrompt);
    bool music_when_alone = false;  // [calls] music_on_hold while nobody else is in the room
    static constexpr std::string_view kDefaultAlonePrompt = "conf-alone";
};
// What collect_digits() asks for (as Asterisk's Read() and FreeSWITCH's play_and_get_digits).
struct CollectRequest {
    static constexpr int kMaxDigits = 64;
    int max_digits = 1;       // 1 to kMaxDigits: the collection ends with the last of them
    int timeout_s = 5;        // 1 to 60: the longest wait after a key for the next one
    int first_timeout_s = 5;  // 1 to 60: the longest wait for the first key (after the prompt)
    char terminator = '#';    // the key that ends the input early, not part of it; 0: none
};
// A key of the DTMF keypad (RFC 4733 events 0-15): 0-9, *, #, A-D (upper case).
bool valid_dtmf_key(char key);

// A room name conference() takes: 1 to 64 characters of [A-Za-z0-9_.-], compared exactly.
bool valid_room_name(std::string_view room);

class CallApi {
  public:
    virtual ~CallApi() = default;

    // Read-only facts about the call, as the A-leg's INVITE presented them.
    virtual std::string_view caller_number() const = 0;  // From user part
    virtual std::string_view caller_name() const = 0;    // From display name ("" if none)
    virtual std::string_view callee_number() const = 0;  // dialled number (request URI user)
    virtual std::string_view request_uri() const = 0;
    // Header value (first occurrence, name case-insensitive), nullopt if absent.
    virtual std::optional<std::string_view> header(std::string_view name) const = 0;
    // The authenticated calling extension; nullopt for calls that did not come from one (trunks).
    virtual std::optional<std::string_view> extension_number() const = 0;
    virtual std::optional<std::string_view> extension_name() const = 0;

    // Actions that complete at once.
    virtual void set_caller_id(std::string_view number, std::string_view name) = 0;  // for B-legs
    virtual void set_header(std::string_view name, std::string_view value) = 0;      // for B-legs
    virtual void log(LogLevel level, std::string_view text) = 0;
    // Answers the caller ourselves (200 OK with our own SDP answer to its offer, media anchored by
    // the PBX): for prompts and conferences, and a later bridge keeps that answer. True when
    // answered (or already answered); false when it cannot be: media is not anchored, the caller
    // made no offer, or the call is over.
    virtual bool answer() = 0;
    // Ends the call: the A-leg gets `code` (a final response, or BYE if already answered). The
    // script stops after it.
    virtual void hangup(int code, std::string_view reason) = 0;
    // Records the call from now on (start) or stops (!start): a stereo WAV, the caller on the
    // left and whoever it is bridged to on the right, in the recordings directory; its path goes
    // into the call record. False when it cannot be recorded (media not anchored, the file
    // cannot be made). Recording ends with the call anyway.
    virtual bool record_call(bool start) = 0;

    // Actions that wait: start the work and return. The owner later reports the outcome with
    // Engine::resume(call_id, outcome); until then the script's coroutine is suspended.
    virtual void bridge(const BridgeRequest& request) = 0;
    // Plays the prompt `name` (the prompt directory's <name>.wav) to the caller: as early media
    // before any answer, in the call after answer(). The outcome is answered when it played to
    // its end, failed when it could not be played (no such prompt, media not anchored, the caller
    // sent no offer, a bridge answered).
    virtual void playback(std::string_view name) = 0;
    // Answers the call if it is not yet (as answer()) and puts the caller into conference room
    // `room` (valid_room_name). It stays there until the call ends, so no outcome follows a
    // join (the owner cancels the routing when the call ends); failed when it cannot join.
    virtual void conference(std::string_view room, const ConferenceRequest& request) = 0;
    // Collects the keys the caller presses (RFC 4733 events, in-band DTMF, or SIP INFO), after
    // playing the prompt `prompt` if not "" (as playback(); a key pressed while it plays stops
    // it and counts). The outcome is answered with the keys in `digits` (without the terminator;
    // "" when the caller pressed none in time), failed when the keys cannot be collected (no
    // such prompt, media not anchored, the caller sent no offer, a bridge answered), with why
    // in `reason`. Keys pressed while nothing collects them are not kept.
    virtual void collect_digits(std::string_view prompt, const CollectRequest& request) = 0;
};

}  // namespace sb::call
