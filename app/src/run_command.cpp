// `switchboard run`: composes the database, the caches and the SIP server, and runs until
// SIGINT or SIGTERM.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <pqxx/pqxx>

#include "binding_writer.h"
#include "call_record_writer.h"
#include "commands.h"
#include "database.h"
#include "dialplan_loader.h"
#include "extension_credential.h"
#include "sb/common/log.h"
#include "sb/db/call_record_store.h"
#include "sb/db/call_records.h"
#include "sb/db/extensions.h"
#include "sb/db/listener.h"
#include "sb/db/pool.h"
#include "sb/db/registrations.h"
#include "sb/db/settings.h"
#include "sb/dialplan/script_router.h"
#include "sb/media/anchored_media.h"
#include "sb/media/dsp/prompt.h"
#include "sb/media/media_session.h"
#include "sb/media/rtp/relay.h"
#include "sb/registrar/credential_cache.h"

namespace sb::app {

int run_server(Config config) {
    // Signals are taken synchronously by this thread; block them before any thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    if (auto st = resolve_listen(config); !st) {
        std::fprintf(stderr, "error: %s\n", st.error().message.c_str());
        return 2;
    }
    auto database = open_database(config);
    if (!database) {
        std::fprintf(stderr, "error: %s\n", database.error().message.c_str());
        return 1;
    }

    const Clock& clock = SystemClock::instance();
    registrar::CredentialCache credentials;
    ToneWarnings tone_warnings;  // outlives the pool, whose reloads use it
    registrar::LocationService locations;
    std::string secret;
    try {
        pqxx::connection conn(database->conninfo);
        auto exts = db::load_credentials(conn);
        auto bindings = db::load_bindings(conn, clock.unix_seconds());
        auto s = db::server_secret(conn);
        if (!exts || !bindings || !s) {
            std::fprintf(stderr, "error: loading from the database failed: %s\n",
                         (!exts       ? exts.error()
                          : !bindings ? bindings.error()
                                      : s.error())
                             .message.c_str());
            return 1;
        }
        std::vector<registrar::Credential> creds;
        for (const auto& e : *exts) creds.push_back(to_credential(e, tone_warnings));
        credentials.replace_all(std::move(creds));
        std::vector<registrar::Binding> loaded;
        for (const auto& b : *bindings) loaded.push_back(from_db(b));
        locations.load(std::move(loaded));
        secret = *s;
        SB_INFO("app", "loaded {} extensions and {} registrations", credentials.size(),
                locations.binding_count());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: database: %s\n", e.what());
        return 1;
    }

    db::PoolOptions pool_options;
    pool_options.conninfo = database->conninfo;
    pool_options.threads = config.db_threads;
    db::Pool pool(pool_options);
    BindingWriter writer(pool);
    // Call records go to the database through a spool in the data directory, so that none is
    // lost while the database is away; a spool an earlier run left is written first.
    std::error_code dir_error;
    std::filesystem::create_directories(config.data_dir, dir_error);
    db::CallRecordStoreOptions record_options;
    record_options.spool = std::filesystem::absolute(config.data_dir) / "call-records.spool";
    auto call_records = db::CallRecordStore::open(pool, record_options);
    if (!call_records) {
        std::fprintf(stderr, "error: %s\n", call_records.error().message.c_str());
        return 1;
    }
    CallRecordWriter record_writer(**call_records);

    // Credential changes made by `switchboard ext ...` (or the web admin) reach us by NOTIFY.
    // A reload that finds the DB job queue full (a burst of NOTIFYs from a bulk change) is not
    // dropped: everything is reloaded instead, at once or from the wait loop below.
    std::atomic<bool> reload_all_due{false};
    auto reload_all = [&] {
        reload_all_due = false;
        const bool queued = pool.submit([&credentials, &tone_warnings](pqxx::connection& conn) {
            auto exts = db::load_credentials(conn);
            if (!exts) return;
            std::vector<registrar::Credential> creds;
            for (const auto& e : *exts) creds.push_back(to_credential(e, tone_warnings));
            credentials.replace_all(std::move(creds));
            SB_INFO("app", "credentials reloaded: {} extensions", credentials.size());
        });
        if (!queued) reload_all_due = true;
    };
    auto reload_one = [&](const std::string& number) {
        if (reload_all_due) return reload_all();
        const bool queued =
            pool.submit([&credentials, &tone_warnings, number](pqxx::connection& conn) {
                auto e = db::get_extension(conn, number);
                if (!e) return;
                if (*e) {
                    credentials.upsert(to_credential(**e, tone_warnings));
                } else {
                    credentials.erase(number);
                    tone_warnings.forget(number);
                }
                SB_INFO("app", "extension {} {}", number, *e ? "reloaded" : "removed");
            });
        if (!queued) {
            SB_WARN("app",
                    "extension {}: the database queue is full; reloading every extension "
                    "once it has room",
                    number);
            reload_all_due = true;
        }
    };
    // The empty payload asks for everything: a TRUNCATE, or a batch (`ext import`) that
    // notifies once instead of once per number.
    db::Listener listener(
        {database->conninfo, {db::kExtensionsChannel}},
        [&](const std::string&, const std::string& payload) {
            payload.empty() ? reload_all() : reload_one(payload);
        },
        reload_all);

    // The dialplan new calls start with: the active version (on first start the shipped default),
    // swapped at once when another version is activated (NOTIFY sb_dialplan).
    auto dialplan_loader = DialplanLoader::start(database->conninfo, pool);
    if (!dialplan_loader) {
        std::fprintf(stderr, "error: %s\n", dialplan_loader.error().message.c_str());
        return 1;
    }

    auth::NonceManager nonces(clock, secret, config.nonces);
    auth::BanList bans(clock, config.bans);
    auth::ScannerConfig scanner_config;
    scanner_config.enabled = config.drop_scanners;
    auth::ScannerFilter scanners(scanner_config);
    registrar::AuthConfig auth_config;
    auth_config.realm = config.realm;
    auth_config.algorithms = config.digest_algorithms;
    registrar::Authenticator authenticator(auth_config, credentials, nonces, bans);

    dialplan::ActiveScript& active_dialplan = (*dialplan_loader)->active();
    // Media: anchored on our relay (the default), or direct (SDP passes through untouched).
    // Each shard runs the active dialplan in its own engine.
    std::unique_ptr<media::rtp::Relay> relay;
    std::unique_ptr<media::MediaEngine> media_engine;
    config.server.calls.prompts_dir = config.media.prompts.empty()
                                          ? (config.data_dir / "prompts").string()
                                          : config.media.prompts;
    config.server.calls.recordings_dir = config.media.recordings.empty()
                                             ? (config.data_dir / "recordings").string()
                                             : config.media.recordings;
    // Music on hold is loaded at each hold (so a new file takes effect at once): say now when
    // it cannot be, since holds then reach the other phone as re-INVITEs instead.
    if (const std::string& moh = config.server.calls.music_on_hold;
        config.media.anchor && !moh.empty())
        if (auto music = media::dsp::load_prompt(config.server.calls.prompts_dir, moh); !music)
            SB_WARN("app", "[calls] music_on_hold: {}; holds are relayed to the other phone",
                    music.error().message);
    if (config.media.anchor) {
        auto r = media::rtp::Relay::start(relay_config(config));
        if (!r) {
            std::fprintf(stderr, "error: %s\n", r.error().message.c_str());
            return 1;
        }
        relay = std::move(*r);
        media::AnchoredMediaOptions options;
        options.tone_country = config.media.tones;
        media_engine = std::make_unique<media::AnchoredMedia>(*relay, options);
    } else {
        media_engine = std::make_unique<media::DirectMedia>();
    }
    media::MediaEngine& media = *media_engine;
    call::RouterFactory routers = [&active_dialplan] {
        return std::make_unique<dialplan::ScriptRouter>(
            [&active_dialplan] { return active_dialplan.get(); });
    };
    server::Services services{clock,    authenticator, locations, writer, bans,
                              scanners, credentials,   media,     routers};
    services.records = &record_writer;
    server::SipServer sip(config.server, std::move(services));
    if (auto st = sip.start(); !st) {
        std::fprintf(stderr, "error: %s\n", st.error().message.c_str());
        return 1;
    }
    for (const Endpoint& e : sip.udp_endpoints())
        std::printf("SIP listening on UDP %s\n", e.to_string().c_str());
    for (const Endpoint& e : sip.tcp_endpoints())
        std::printf("SIP listening on TCP %s\n", e.to_string().c_str());
    std::printf("Database: %s\n",
                database->embedded
                    ? ("embedded PostgreSQL in " + database->embedded->data_dir().string()).c_str()
                    : "external");
    std::printf("Realm: %s; %zu extensions, %zu registrations, %zu worker shards\n",
                config.realm.c_str(), credentials.size(), locations.binding_count(),
                sip.shard_count());
    std::printf("Dialplan: %s\n", (*dialplan_loader)->describe().c_str());
    if (relay) {
        const auto rc = relay_config(config);
        std::printf("Media: anchored, RTP on %s ports %u-%u (SDP names %s)\n", rc.address.c_str(),
                    unsigned{rc.port_min}, unsigned{rc.port_max}, relay->address().c_str());
    } else {
        std::printf("Media: direct (phones send RTP to each other)\n");
    }
    std::printf(
        "Add a phone: switchboard ext add 1001 --password 'a-long-secret' --name 'Front desk'%s\n",
        config.db_dsn.empty() ? (" --data-dir " + config.data_dir.string()).c_str() : "");
    std::printf(
        "then register it with user 1001 and that password to this server. Stop with Ctrl-C.\n");
    std::fflush(stdout);

    // Call records past [calls] records_keep_days: at start and once a day.
    auto purge_call_records = [&pool, &clock, keep = config.call_records_keep_days] {
        if (keep == 0) return;
        const std::int64_t before = clock.unix_ms() - std::int64_t{keep} * 86'400'000;
        (void)pool.submit([before, keep](pqxx::connection& conn) {
            auto n = db::delete_call_records_before(conn, before);
            if (!n)
                SB_WARN("app", "deleting call records older than {} days: {}", keep,
                        n.error().message);
            else if (*n > 0)
                SB_INFO("app", "deleted {} call records older than {} days", *n, keep);
        });
    };
    purge_call_records();
    TimePoint next_records_purge = clock.now() + std::chrono::hours(24);

    // Wait for a signal; purge expired registrations now and then.
    for (;;) {
        timespec timeout{reload_all_due ? 1 : 30, 0};
        int sig = sigtimedwait(&signals, nullptr, &timeout);
        if (sig == SIGINT || sig == SIGTERM) {
            SB_INFO("app", "signal {}: shutting down", sig);
            break;
        }
        if (reload_all_due) reload_all();
        std::int64_t now = clock.unix_seconds();
        locations.purge_expired(now);
        (void)pool.submit([now](pqxx::connection& conn) { (void)db::purge_expired(conn, now); });
        if (clock.now() >= next_records_purge) {
            purge_call_records();
            next_records_purge = clock.now() + std::chrono::hours(24);
        }
    }

    sip.stop();
    // Refreshes that were not written yet (see Binding::persisted_expires_at): write them now so
    // that a clean restart has exact expiries.
    std::vector<registrar::BindingChange> pending;
    for (registrar::Binding& b : locations.all(clock.unix_seconds()))
        if (b.persisted_expires_at != b.expires_at)
            pending.push_back({registrar::BindingChange::upsert, std::move(b)});
    if (!pending.empty()) writer.persist(std::move(pending));
    writer.flush();
    if (!(*call_records)->flush(Duration(5000)))
        SB_WARN("app",
                "{} call records are not in the database yet; they stay in {} for the next start",
                (*call_records)->stats().spooled, (*call_records)->spool_path().string());
    call_records->reset();  // before the pool: its thread may still wait for a job
    listener.stop();
    (*dialplan_loader)->stop();
    pool.shutdown();
    if (database->embedded) {
        if (auto st = database->embedded->stop(); !st)
            SB_WARN("app", "stopping PostgreSQL: {}", st.error().message);
    }
    std::printf("stopped\n");
    return 0;
}

}  // namespace sb::app
