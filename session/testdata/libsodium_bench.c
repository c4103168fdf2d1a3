/*
 * libsodium baseline for BenchmarkSeal and BenchmarkOpen (package session): the same work as
 * libsession's encrypt_for_recipient and decrypt_incoming on a 320-byte padded message.
 *
 * Not part of the Go build. Build and run by hand:
 *
 *   apt-get install -y libsodium-dev
 *   gcc -O2 -o /tmp/libsodium_bench session/testdata/libsodium_bench.c -lsodium
 *   /tmp/libsodium_bench [seconds per measurement (2)] [rounds (3)]
 *
 * Seal: build M || A || Y, Ed25519-sign it, replace Y by the signature, crypto_box_seal to Y
 *       (ephemeral key pair, X25519, nonce hash, XSalsa20-Poly1305), into a fresh buffer.
 * Open: ed25519 sk -> X25519 sk, X25519 pk from it, crypto_box_seal_open, rebuild M || A || Y,
 *       verify the signature, convert the sender's Ed25519 key to X25519 (the Account ID).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MSG_LEN 320

static unsigned char ed_pk[32], ed_sk[64], rx_pk[32], rx_sk[32], red_pk[32], red_sk[64];
static unsigned char msg[MSG_LEN];

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned char *seal(size_t *out_len) {
    unsigned char buf[MSG_LEN + 96];
    memcpy(buf, msg, MSG_LEN);
    memcpy(buf + MSG_LEN, ed_pk, 32);
    memcpy(buf + MSG_LEN + 32, rx_pk, 32);
    unsigned char sig[64];
    crypto_sign_ed25519_detached(sig, NULL, buf, MSG_LEN + 64, ed_sk);
    memcpy(buf + MSG_LEN + 32, sig, 64);
    *out_len = MSG_LEN + 96 + crypto_box_SEALBYTES;
    unsigned char *out = malloc(*out_len);
    if (crypto_box_seal(out, buf, MSG_LEN + 96, rx_pk) != 0) abort();
    return out;
}

static int open_msg(const unsigned char *ct, size_t ct_len, unsigned char *sender_x) {
    unsigned char x_sec[32], x_pub[32];
    crypto_sign_ed25519_sk_to_curve25519(x_sec, red_sk);
    if (crypto_scalarmult_base(x_pub, x_sec) != 0) return -1;
    if (ct_len < crypto_box_SEALBYTES + 96) return -1;
    size_t inner_len = ct_len - crypto_box_SEALBYTES;
    unsigned char *buf = malloc(inner_len);
    if (crypto_box_seal_open(buf, ct, ct_len, x_pub, x_sec) != 0) { free(buf); return -1; }
    size_t n = inner_len - 96;
    unsigned char sig[64];
    memcpy(sig, buf + n + 32, 64);
    memcpy(buf + n + 32, x_pub, 32);
    int rc = crypto_sign_ed25519_verify_detached(sig, buf, n + 64, buf + n);
    if (rc == 0) rc = crypto_sign_ed25519_pk_to_curve25519(sender_x, buf + n);
    free(buf);
    return rc;
}

int main(int argc, char **argv) {
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    if (sodium_init() < 0) return 1;
    unsigned char seed[32];
    memset(seed, 1, 32);
    crypto_sign_ed25519_seed_keypair(ed_pk, ed_sk, seed);
    memset(seed, 2, 32);
    crypto_sign_ed25519_seed_keypair(red_pk, red_sk, seed);
    if (crypto_sign_ed25519_pk_to_curve25519(rx_pk, red_pk) != 0) return 1;
    crypto_sign_ed25519_sk_to_curve25519(rx_sk, red_sk);
    memset(msg, 'x', MSG_LEN);

    printf("libsodium %s, %d-byte message\n", sodium_version_string(), MSG_LEN);
    for (int round = 0; round < rounds; round++) {
        long n = 0;
        double t0 = now(), t;
        do {
            size_t len;
            free(seal(&len));
            n++;
        } while ((t = now()) - t0 < secs);
        printf("seal: %8.0f ns/op (%ld ops)\n", (t - t0) / n * 1e9, n);

        size_t ct_len;
        unsigned char *ct = seal(&ct_len);
        unsigned char sender_x[32];
        n = 0;
        t0 = now();
        do {
            if (open_msg(ct, ct_len, sender_x) != 0) { fprintf(stderr, "open failed\n"); return 1; }
            n++;
        } while ((t = now()) - t0 < secs);
        printf("open: %8.0f ns/op (%ld ops)\n", (t - t0) / n * 1e9, n);
        free(ct);
    }
    return 0;
}
