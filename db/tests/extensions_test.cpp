#include "sb/db/extensions.h"
#include "sb/db/errors.h"
#include "test_cluster.h"

#include <gtest/gtest.h>
#include <pqxx/nontransaction>

namespace sb::db::test {
namespace {

constexpr const char* kRealm = "pbx.example";

TEST(Ha1, MatchesKnownVectors) {
    // RFC 2617 3.5's example credentials; MD5 from the RFC, SHA-256 from `printf ... | sha256sum`.
    EXPECT_EQ(compute_ha1(DigestAlgorithm::md5, "Mufasa", "testrealm@host.com", "Circle Of Life"),
              "939e7578ed9e3c518a452acee763bce9");
    EXPECT_EQ(
        compute_ha1(DigestAlgorithm::sha256, "Mufasa", "testrealm@host.com", "Circle Of Life"),
        "3ba6cd94661c5ef34598040c868f13b8775df29109986be50ad35ae537dd3aa4");
}

TEST(Validation, NumbersPasswordsAndNames) {
    EXPECT_TRUE(validate_number("1001"));
    EXPECT_TRUE(validate_number("sales.desk-2+x_y"));
    EXPECT_TRUE(validate_number(std::string(32, '9')));
    EXPECT_FALSE(validate_number(""));
    EXPECT_FALSE(validate_number(std::string(33, '9')));
    EXPECT_FALSE(validate_number("10 01"));
    EXPECT_FALSE(validate_number("1001@x"));
    EXPECT_FALSE(validate_number("ab\xc3\xa9"));

    EXPECT_TRUE(validate_password("12345678"));
    EXPECT_TRUE(validate_password(std::string(128, 'p')));
    EXPECT_FALSE(validate_password("1234567"));
    EXPECT_FALSE(validate_password(std::string(129, 'p')));
    EXPECT_FALSE(validate_password("good\npassword"));

    EXPECT_TRUE(validate_display_name(""));
    EXPECT_TRUE(
        validate_display_name("Jos\xc3\xa9 Garc\xc3\xad"
                              "a"));
    std::string e_acute_128;
    for (int i = 0; i < 128; ++i) e_acute_128 += "\xc3\xa9";
    EXPECT_TRUE(validate_display_name(e_acute_128)) << "the limit counts characters, not bytes";
    EXPECT_FALSE(validate_display_name(e_acute_128 + "x"));
    EXPECT_FALSE(validate_display_name("Evil\r\nVia: x"));
    EXPECT_FALSE(validate_display_name("\xff\xfe"));

    EXPECT_FALSE(validate_realm(""));
}

TEST_F(DbTest, AddListGetUpdateDelete) {
    auto added = add_extension(conn(), "1001", "s3cret-pass", "Front Desk", kRealm);
    ASSERT_TRUE(added) << added.error().message;
    EXPECT_EQ(
        added->ha1_md5,
        "fdc99d734db4c3b2163d8497bea660ad");  // printf '1001:pbx.example:s3cret-pass' | md5sum
    EXPECT_EQ(added->ha1_sha256,
              "81f4032a4929b36ef2d59a842e44bb551efe77fcc38cb70b992b9481bdd56666");
    ASSERT_TRUE(add_extension(conn(), "1002", "another-pass", "", kRealm));

    auto list = list_extensions(conn());
    ASSERT_TRUE(list) << list.error().message;
    ASSERT_EQ(list->size(), 2u);
    EXPECT_EQ((*list)[0].number, "1001");
    EXPECT_EQ((*list)[0].display_name, "Front Desk");
    EXPECT_EQ((*list)[0].realm, kRealm);
    EXPECT_EQ((*list)[0].ha1_md5, added->ha1_md5);
    EXPECT_TRUE((*list)[0].enabled);
    EXPECT_EQ((*list)[1].number, "1002");

    auto got = get_extension(conn(), "1001");
    ASSERT_TRUE(got);
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ((*got)->display_name, "Front Desk");
    auto missing = get_extension(conn(), "9999");
    ASSERT_TRUE(missing);
    EXPECT_FALSE(missing->has_value());

    // Display name only: the digests stay.
    auto renamed =
        update_extension(conn(), "1001", std::nullopt, "Reception", std::nullopt, kRealm);
    ASSERT_TRUE(renamed) << renamed.error().message;
    EXPECT_EQ(renamed->display_name, "Reception");
    EXPECT_EQ(renamed->ha1_md5, added->ha1_md5);

    // New password: both digests recomputed.
    auto repassed =
        update_extension(conn(), "1001", "new-password", std::nullopt, std::nullopt, kRealm);
    ASSERT_TRUE(repassed) << repassed.error().message;
    EXPECT_EQ(repassed->ha1_md5, compute_ha1(DigestAlgorithm::md5, "1001", kRealm, "new-password"));
    EXPECT_EQ(repassed->ha1_sha256,
              compute_ha1(DigestAlgorithm::sha256, "1001", kRealm, "new-password"));
    EXPECT_EQ(repassed->display_name, "Reception");

    // Disabled extensions drop out of the credential cache's load.
    ASSERT_TRUE(update_extension(conn(), "1002", std::nullopt, std::nullopt, false, kRealm));
    auto creds = load_credentials(conn());
    ASSERT_TRUE(creds);
    ASSERT_EQ(creds->size(), 1u);
    EXPECT_EQ((*creds)[0].number, "1001");

    ASSERT_TRUE(delete_extension(conn(), "1001"));
    auto after = list_extensions(conn());
    ASSERT_TRUE(after);
    ASSERT_EQ(after->size(), 1u);
    EXPECT_EQ((*after)[0].number, "1002");
    EXPECT_FALSE((*after)[0].enabled);
}

TEST_F(DbTest, UpdateTouchesUpdatedAt) {
    ASSERT_TRUE(add_extension(conn(), "1001", "s3cret-pass", "", kRealm));
    {
        pqxx::nontransaction tx(conn());
        tx.exec("update extensions set updated_at = '2000-01-01' where number = '1001'");
    }
    ASSERT_TRUE(update_extension(conn(), "1001", std::nullopt, "X", std::nullopt, kRealm));
    pqxx::nontransaction tx(conn());
    EXPECT_TRUE(tx.exec("select updated_at > '2001-01-01' from extensions")[0][0].as<bool>());
}

TEST_F(DbTest, DuplicateIsAClearError) {
    ASSERT_TRUE(add_extension(conn(), "1001", "s3cret-pass", "", kRealm));
    auto dup = add_extension(conn(), "1001", "other-pass", "", kRealm);
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code, code(Errc::already_exists));
    EXPECT_EQ(dup.error().message, "extension 1001 already exists");
}

std::vector<std::string> numbers(pqxx::connection& conn) {
    std::vector<std::string> out;
    auto list = list_extensions(conn);
    EXPECT_TRUE(list) << list.error().message;
    if (list)
        for (const auto& e : *list) out.push_back(e.number);
    return out;
}

using Numbers = std::vector<std::string>;

TEST_F(DbTest, BatchAddsEveryRow) {
    std::vector<NewExtension> batch{
        {"1001", "s3cret-pass", "Front Desk", std::nullopt, std::nullopt},
        {"1002", "another-pass", "", std::string("GB"), std::string("direct")}};
    auto added = add_extensions(conn(), batch, kRealm);
    ASSERT_TRUE(added) << added.error().error.message;
    ASSERT_EQ(added->size(), 2u);
    EXPECT_EQ((*added)[0].ha1_md5, "fdc99d734db4c3b2163d8497bea660ad");
    EXPECT_EQ(numbers(conn()), (Numbers{"1001", "1002"}));
    auto desk = get_extension(conn(), "1001");
    ASSERT_TRUE(desk && *desk);
    EXPECT_EQ((*desk)->display_name, "Front Desk");
    EXPECT_EQ((*desk)->tones, std::nullopt);
    EXPECT_EQ((*desk)->media, std::nullopt);
    auto uk = get_extension(conn(), "1002");
    ASSERT_TRUE(uk && *uk);
    EXPECT_EQ((*uk)->tones, "GB");
    EXPECT_EQ((*uk)->media, "direct");

    auto empty = add_extensions(conn(), {}, kRealm);
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());
}

TEST_F(DbTest, BatchWithAnExistingNumberAddsNothing) {
    ASSERT_TRUE(add_extension(conn(), "1003", "s3cret-pass", "", kRealm));
    ASSERT_TRUE(add_extension(conn(), "1005", "s3cret-pass", "", kRealm));
    std::vector<NewExtension> batch;
    for (const char* n : {"1001", "1002", "1003", "1004", "1005"})
        batch.push_back({n, "another-pass", "", std::nullopt, std::nullopt});
    auto added = add_extensions(conn(), batch, kRealm);
    ASSERT_FALSE(added);
    // Every existing number, not just the first, so one correction is enough.
    ASSERT_EQ(added.error().rows.size(), 2u);
    EXPECT_EQ(added.error().rows[0].index, 2u);
    EXPECT_EQ(added.error().rows[0].error.code, code(Errc::already_exists));
    EXPECT_EQ(added.error().rows[0].error.message, "extension 1003 already exists");
    EXPECT_EQ(added.error().rows[1].index, 4u);
    EXPECT_EQ(added.error().error.message, "extension 1003 already exists");
    EXPECT_EQ(numbers(conn()), (Numbers{"1003", "1005"})) << "1001, 1002 and 1004 rolled back";
    // The existing ones are untouched.
    auto kept = get_extension(conn(), "1003");
    ASSERT_TRUE(kept && *kept);
    EXPECT_EQ((*kept)->ha1_md5, compute_ha1(DigestAlgorithm::md5, "1003", kRealm, "s3cret-pass"));
    // The connection is usable afterwards: the same batch without the existing numbers goes in.
    batch.erase(batch.begin() + 4);
    batch.erase(batch.begin() + 2);
    ASSERT_TRUE(add_extensions(conn(), batch, kRealm));
    EXPECT_EQ(numbers(conn()), (Numbers{"1001", "1002", "1003", "1004", "1005"}));
}

TEST_F(DbTest, BatchRefusesBadRowsBeforeTheDatabase) {
    std::vector<NewExtension> batch{
        {"1001", "s3cret-pass", "", std::nullopt, std::nullopt},
        {"10 02", "s3cret-pass", "", std::nullopt, std::nullopt},
        {"1003", "short", "", std::nullopt, std::nullopt},
        {"1001", "s3cret-pass", "", std::nullopt, std::nullopt},
        {"1004", "s3cret-pass", "", std::string("gb"), std::nullopt},
        {"1005", "s3cret-pass", "", std::nullopt, std::string("relay")}};
    auto added = add_extensions(conn(), batch, kRealm);
    ASSERT_FALSE(added);
    const auto& rows = added.error().rows;
    ASSERT_EQ(rows.size(), 5u);
    EXPECT_EQ(rows[0].index, 1u);
    EXPECT_NE(rows[0].error.message.find("10 02"), std::string::npos);
    EXPECT_EQ(rows[1].index, 2u);
    EXPECT_NE(rows[1].error.message.find("too short"), std::string::npos);
    EXPECT_EQ(rows[2].index, 3u);
    EXPECT_EQ(rows[2].error.code, code(Errc::invalid_argument));
    EXPECT_EQ(rows[2].error.message, "extension 1001 is given twice in the batch (rows 1 and 4)");
    EXPECT_EQ(rows[3].index, 4u);
    EXPECT_EQ(rows[4].index, 5u);
    EXPECT_NE(rows[4].error.message.find("relay"), std::string::npos) << rows[4].error.message;
    EXPECT_EQ(added.error().error.message, rows[0].error.message);
    EXPECT_TRUE(numbers(conn()).empty());

    auto bad_realm = add_extensions(conn(), std::span(batch).first(1), "");
    ASSERT_FALSE(bad_realm);
    EXPECT_TRUE(bad_realm.error().rows.empty()) << "no row's fault";
    EXPECT_EQ(bad_realm.error().error.code, code(Errc::invalid_argument));
}

TEST_F(DbTest, BatchOnABrokenConnectionIsNoRowsFault) {
    {
        pqxx::connection killer(shared_conninfo());
        pqxx::nontransaction tx(killer);
        tx.exec_params("select pg_terminate_backend($1)", conn().backendpid());
    }
    std::vector<NewExtension> batch{{"1001", "s3cret-pass", "", std::nullopt, std::nullopt}};
    auto added = add_extensions(conn(), batch, kRealm);
    ASSERT_FALSE(added);
    EXPECT_TRUE(added.error().rows.empty());
    EXPECT_EQ(added.error().error.code, code(Errc::unavailable)) << added.error().error.message;
}

TEST_F(DbTest, BadInputIsRejectedBeforeTheDatabase) {
    auto bad_number = add_extension(conn(), "10 01", "s3cret-pass", "", kRealm);
    ASSERT_FALSE(bad_number);
    EXPECT_EQ(bad_number.error().code, code(Errc::invalid_argument));
    EXPECT_NE(bad_number.error().message.find("10 01"), std::string::npos);

    auto short_password = add_extension(conn(), "1001", "short", "", kRealm);
    ASSERT_FALSE(short_password);
    EXPECT_EQ(short_password.error().code, code(Errc::invalid_argument));
    EXPECT_NE(short_password.error().message.find("too short"), std::string::npos);

    auto long_name = add_extension(conn(), "1001", "s3cret-pass", std::string(129, 'n'), kRealm);
    ASSERT_FALSE(long_name);

    auto short_update =
        update_extension(conn(), "1001", "short", std::nullopt, std::nullopt, kRealm);
    ASSERT_FALSE(short_update);
    EXPECT_EQ(short_update.error().code, code(Errc::invalid_argument));

    auto list = list_extensions(conn());
    ASSERT_TRUE(list);
    EXPECT_TRUE(list->empty());
}

TEST_F(DbTest, DatabaseConstraintsBackTheValidation) {
    pqxx::nontransaction tx(conn());
    EXPECT_THROW(tx.exec("insert into extensions (number, realm, ha1_md5, ha1_sha256) "
                         "values ('bad number', 'r', repeat('a', 32), repeat('a', 64))"),
                 pqxx::check_violation);
    EXPECT_THROW(tx.exec("insert into extensions (number, realm, ha1_md5, ha1_sha256) "
                         "values ('1001', 'r', 'plaintext', repeat('a', 64))"),
                 pqxx::check_violation);
}

TEST(Validation, Tones) {
    EXPECT_TRUE(validate_tones("GB"));
    EXPECT_TRUE(validate_tones("DE"));
    EXPECT_FALSE(validate_tones("gb")) << "stored upper case; callers normalize first";
    EXPECT_FALSE(validate_tones(""));
    EXPECT_FALSE(validate_tones("G"));
    EXPECT_FALSE(validate_tones("GBR"));
    EXPECT_FALSE(validate_tones("G1"));
    EXPECT_FALSE(validate_tones("gb;drop"));
}

TEST_F(DbTest, TonesAreTheSystemsPlanByDefault) {
    auto added = add_extension(conn(), "1001", "s3cret-pass", "", kRealm);
    ASSERT_TRUE(added) << added.error().message;
    EXPECT_EQ(added->tones, std::nullopt);
    auto got = get_extension(conn(), "1001");
    ASSERT_TRUE(got && got->has_value());
    EXPECT_EQ((*got)->tones, std::nullopt);
    pqxx::nontransaction tx(conn());
    EXPECT_TRUE(tx.exec("select tones is null from extensions")[0][0].as<bool>());
}

TEST_F(DbTest, TonesRoundTrip) {
    auto added = add_extension(conn(), "1001", "s3cret-pass", "", kRealm, "GB");
    ASSERT_TRUE(added) << added.error().message;
    EXPECT_EQ(added->tones, "GB");
    ASSERT_TRUE(add_extension(conn(), "1002", "s3cret-pass", "", kRealm));

    auto list = list_extensions(conn());
    ASSERT_TRUE(list) << list.error().message;
    ASSERT_EQ(list->size(), 2u);
    EXPECT_EQ((*list)[0].tones, "GB");
    EXPECT_EQ((*list)[1].tones, std::nullopt);
    auto creds = load_credentials(conn());
    ASSERT_TRUE(creds) << creds.error().message;
    ASSERT_EQ(creds->size(), 2u);
    EXPECT_EQ((*creds)[0].tones, "GB");
    EXPECT_EQ((*creds)[1].tones, std::nullopt);

    // Another change keeps the tones.
    auto renamed = update_extension(conn(), "1001", std::nullopt, "Desk", std::nullopt, kRealm);
    ASSERT_TRUE(renamed) << renamed.error().message;
    EXPECT_EQ(renamed->tones, "GB");

    auto set = update_extension(conn(), "1002", std::nullopt, std::nullopt, std::nullopt, kRealm,
                                std::optional<std::string_view>("DE"));
    ASSERT_TRUE(set) << set.error().message;
    EXPECT_EQ(set->tones, "DE");
    EXPECT_EQ(set->display_name, "");

    // An empty inner optional goes back to the system's plan.
    auto cleared = update_extension(conn(), "1001", std::nullopt, std::nullopt, std::nullopt,
                                    kRealm, std::optional<std::string_view>());
    ASSERT_TRUE(cleared) << cleared.error().message;
    EXPECT_EQ(cleared->tones, std::nullopt);
    EXPECT_EQ(cleared->display_name, "Desk");
    auto got = get_extension(conn(), "1001");
    ASSERT_TRUE(got && got->has_value());
    EXPECT_EQ((*got)->tones, std::nullopt);
}

TEST_F(DbTest, BadTonesAreRejected) {
    auto added = add_extension(conn(), "1001", "s3cret-pass", "", kRealm, "gb;drop");
    ASSERT_FALSE(added);
    EXPECT_EQ(added.error().code, code(Errc::invalid_argument));
    EXPECT_NE(added.error().message.find("gb;drop"), std::string::npos) << added.error().message;

    ASSERT_TRUE(add_extension(conn(), "1001", "s3cret-pass", "", kRealm, "GB"));
    auto updated = update_extension(conn(), "1001", std::nullopt, std::nullopt, std::nullopt,
                                    kRealm, std::optional<std::string_view>("Germany"));
    ASSERT_FALSE(updated);
    EXPECT_EQ(updated.error().code, code(Errc::invalid_argument));
    auto got = get_extension(conn(), "1001");
    ASSERT_TRUE(got && got->has_value());
    EXPECT_EQ((*got)->tones, "GB");

    // The constraint holds for writers that skip the validation (psql, the web admin).
    pqxx::nontransaction tx(conn());
    for (const char* bad : {"gb;drop", "gb", "GBR", "", "G1"}) {
        EXPECT_THROW(tx.exec_params("update extensions set tones = $1 where number = '1001'", bad),
                     pqxx::check_violation)
            << bad;
    }
}

TEST(Validation, Media) {
    EXPECT_TRUE(validate_media("direct"));
    EXPECT_TRUE(validate_media("anchor"));
    EXPECT_FALSE(validate_media("system")) << "the CLI's word for NULL, never stored";
    EXPECT_FALSE(validate_media("Direct")) << "stored lower case; callers normalize first";
    EXPECT_FALSE(validate_media(""));
    EXPECT_FALSE(validate_media("relay"));
    EXPECT_FALSE(validate_media("direct;drop"));
}

TEST_F(DbTest, MediaIsTheSystemsModeByDefault) {
    auto added = add_extension(conn(), "1001", "s3cret-pass", "", kRealm);
    ASSERT_TRUE(added) << added.error().message;
    EXPECT_EQ(added->media, std::nullopt);
    auto got = get_extension(conn(), "1001");
    ASSERT_TRUE(got && got->has_value());
    EXPECT_EQ((*got)->media, std::nullopt);
    pqxx::nontransaction tx(conn());
    EXPECT_TRUE(tx.exec("select media is null from extensions")[0][0].as<bool>());
}

TEST_F(DbTest, MediaRoundTrip) {
    auto added = add_extension(conn(), "1001", "s3cret-pass", "", kRealm, std::nullopt, "direct");
    ASSERT_TRUE(added) << added.error().message;
    EXPECT_EQ(added->media, "direct");
    EXPECT_EQ(added->tones, std::nullopt);
    ASSERT_TRUE(add_extension(conn(), "1002", "s3cret-pass", "", kRealm, "GB", "anchor"));
    ASSERT_TRUE(add_extension(conn(), "1003", "s3cret-pass", "", kRealm));

    auto list = list_extensions(conn());
    ASSERT_TRUE(list) << list.error().message;
    ASSERT_EQ(list->size(), 3u);
    EXPECT_EQ((*list)[0].media, "direct");
    EXPECT_EQ((*list)[1].media, "anchor");
    EXPECT_EQ((*list)[1].tones, "GB");
    EXPECT_EQ((*list)[2].media, std::nullopt);
    auto creds = load_credentials(conn());
    ASSERT_TRUE(creds) << creds.error().message;
    ASSERT_EQ(creds->size(), 3u);
    EXPECT_EQ((*creds)[0].media, "direct");
    EXPECT_EQ((*creds)[1].media, "anchor");
    EXPECT_EQ((*creds)[2].media, std::nullopt);

    // Another change, the tones' included, keeps the media; the media's keeps the tones.
    auto renamed = update_extension(conn(), "1001", std::nullopt, "Desk", std::nullopt, kRealm,
                                    std::optional<std::string_view>("DE"));
    ASSERT_TRUE(renamed) << renamed.error().message;
    EXPECT_EQ(renamed->media, "direct");
    EXPECT_EQ(renamed->tones, "DE");
    auto set = update_extension(conn(), "1003", std::nullopt, std::nullopt, std::nullopt, kRealm,
                                std::nullopt, std::optional<std::string_view>("anchor"));
    ASSERT_TRUE(set) << set.error().message;
    EXPECT_EQ(set->media, "anchor");
    EXPECT_EQ(set->tones, std::nullopt);
    auto switched =
        update_extension(conn(), "1002", std::nullopt, std::nullopt, std::nullopt, kRealm,
                         std::nullopt, std::optional<std::string_view>("direct"));
    ASSERT_TRUE(switched) << switched.error().message;
    EXPECT_EQ(switched->media, "direct");
    EXPECT_EQ(switched->tones, "GB");

    // An empty inner optional goes back to the system's mode.
    auto cleared = update_extension(conn(), "1001", std::nullopt, std::nullopt, std::nullopt,
                                    kRealm, std::nullopt, std::optional<std::string_view>());
    ASSERT_TRUE(cleared) << cleared.error().message;
    EXPECT_EQ(cleared->media, std::nullopt);
    EXPECT_EQ(cleared->tones, "DE");
    EXPECT_EQ(cleared->display_name, "Desk");
    auto got = get_extension(conn(), "1001");
    ASSERT_TRUE(got && got->has_value());
    EXPECT_EQ((*got)->media, std::nullopt);
}

TEST_F(DbTest, BadMediaIsRejected) {
    auto added = add_extension(conn(), "1001", "s3cret-pass", "", kRealm, std::nullopt, "relay");
    ASSERT_FALSE(added);
    EXPECT_EQ(added.error().code, code(Errc::invalid_argument));
    EXPECT_NE(added.error().message.find("relay"), std::string::npos) << added.error().message;
    EXPECT_TRUE(numbers(conn()).empty());

    ASSERT_TRUE(add_extension(conn(), "1001", "s3cret-pass", "", kRealm, std::nullopt, "direct"));
    auto updated =
        update_extension(conn(), "1001", std::nullopt, std::nullopt, std::nullopt, kRealm,
                         std::nullopt, std::optional<std::string_view>("system"));
    ASSERT_FALSE(updated);
    EXPECT_EQ(updated.error().code, code(Errc::invalid_argument));
    auto got = get_extension(conn(), "1001");
    ASSERT_TRUE(got && got->has_value());
    EXPECT_EQ((*got)->media, "direct");

    // The constraint holds for writers that skip the validation (psql, the web admin).
    pqxx::nontransaction tx(conn());
    for (const char* bad : {"relay", "Direct", "ANCHOR", "", "system", "direct "}) {
        EXPECT_THROW(tx.exec_params("update extensions set media = $1 where number = '1001'", bad),
                     pqxx::check_violation)
            << bad;
    }
}

TEST_F(DbTest, MissingExtensionErrors) {
    auto del = delete_extension(conn(), "4040");
    ASSERT_FALSE(del);
    EXPECT_EQ(del.error().code, code(Errc::not_found));
    EXPECT_EQ(del.error().message, "extension 4040 does not exist");

    auto upd = update_extension(conn(), "4040", std::nullopt, "x", std::nullopt, kRealm);
    ASSERT_FALSE(upd);
    EXPECT_EQ(upd.error().code, code(Errc::not_found));
}

TEST_F(DbTest, BrokenConnectionBecomesUnavailableError) {
    {
        pqxx::connection killer(shared_conninfo());
        pqxx::nontransaction tx(killer);
        tx.exec_params("select pg_terminate_backend($1)", conn().backendpid());
    }
    auto list = list_extensions(conn());
    ASSERT_FALSE(list);
    EXPECT_EQ(list.error().code, code(Errc::unavailable)) << list.error().message;
}

}  // namespace
}  // namespace sb::db::test
