#include "sb/auth/algorithm.h"

#include "ascii.h"

namespace sb::auth {

HashKind hash_kind(Algorithm a) {
    switch (a) {
        case Algorithm::md5:
        case Algorithm::md5_sess: return HashKind::md5;
        case Algorithm::sha256:
        case Algorithm::sha256_sess: return HashKind::sha256;
        case Algorithm::sha512_256:
        case Algorithm::sha512_256_sess: return HashKind::sha512_256;
    }
    return HashKind::md5;
}

bool is_session(Algorithm a) {
    return a == Algorithm::md5_sess || a == Algorithm::sha256_sess || a == Algorithm::sha512_256_sess;
}

std::size_t hex_length(HashKind h) { return h == HashKind::md5 ? 32 : 64; }

std::string_view to_string(Algorithm a) {
    switch (a) {
        case Algorithm::md5: return "MD5";
        case Algorithm::md5_sess: return "MD5-sess";
        case Algorithm::sha256: return "SHA-256";
        case Algorithm::sha256_sess: return "SHA-256-sess";
        case Algorithm::sha512_256: return "SHA-512-256";
        case Algorithm::sha512_256_sess: return "SHA-512-256-sess";
    }
    return "MD5";
}

std::optional<Algorithm> parse_algorithm(std::string_view token) {
    static constexpr Algorithm all[] = {Algorithm::md5,        Algorithm::md5_sess,
                                        Algorithm::sha256,     Algorithm::sha256_sess,
                                        Algorithm::sha512_256, Algorithm::sha512_256_sess};
    for (Algorithm a : all) {
        if (detail::iequals(token, to_string(a))) return a;
    }
    return std::nullopt;
}

int preference_rank(Algorithm a) {
    switch (a) {
        case Algorithm::sha512_256: return 0;
        case Algorithm::sha512_256_sess: return 1;
        case Algorithm::sha256: return 2;
        case Algorithm::sha256_sess: return 3;
        case Algorithm::md5: return 4;
        case Algorithm::md5_sess: return 5;
    }
    return 6;
}

}  // namespace sb::auth
