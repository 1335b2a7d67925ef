#pragma once
// The registrar (RFC 3261 section 10.3): authenticates a REGISTER, validates its Contacts and
// expiry, updates the location service and hands the changes to a sink that persists them, then
// answers with every current binding. Runs on any shard thread; everything it touches is
// thread-safe and in memory (the database is written behind, in batches).
#include <string>
#include <vector>

#include "sb/common/clock.h"
#include "sb/common/endpoint.h"
#include "sb/registrar/authenticator.h"
#include "sb/registrar/binding.h"
#include "sb/registrar/location_service.h"
#include "sb/sip/message.h"

namespace sb::registrar {

struct RegistrarConfig {
    int min_expires = 60;        // shorter (but not 0) gets 423 Interval Too Brief
    int max_expires = 3600;      // longer is shortened to this
    int default_expires = 3600;  // when the REGISTER names none
    std::size_t max_contacts_per_aor = 10;
    std::string server_header = "Switchboard";
};

// Persists binding changes (the app's database writer batches them). Called on a shard thread;
// must not block.
class BindingSink {
public:
    virtual ~BindingSink() = default;
    virtual void persist(std::vector<BindingChange> changes) = 0;
};

class Registrar {
public:
    Registrar(const Clock& clock, RegistrarConfig config, Authenticator& auth, LocationService& locations,
              BindingSink& sink);

    // Handles one REGISTER; writes the complete response into `out` and returns its status.
    int handle(const sip::Message& request, const Flow& flow, std::string& out);

    // "sip:1001" style key for an extension number.
    static std::string aor_for(std::string_view user) { return "sip:" + std::string(user); }

private:
    int reply(const sip::Message& req, const Flow& flow, std::string& out, int status, std::string_view reason);

    const Clock& clock_;
    RegistrarConfig config_;
    Authenticator& auth_;
    LocationService& locations_;
    BindingSink& sink_;
};

// A To tag for a response we originate: random, unique enough per response.
std::string make_tag();

}  // namespace sb::registrar
