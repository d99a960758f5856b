/*
 * The minimal proof of atrs_host.h: list the plugins, show the Office 365 form, add an
 * account by device code (Add → Verify → Save & Close) and get an access token, using
 * nothing but the C surface of libatrs_host.
 *
 * usage: add_and_token PLUGINS_DIR STORE_DIR AUTHORITY CLIENT_ID TENANT_ID ACCOUNT
 * Prints one line per step; exits 0 when every step succeeded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atrs_host.h"

/* Sends one request, prints its answer on a line of its own, and returns it (to free). */
static char *ask(AtrsHost *host, const char *step, const char *request) {
    char *answer = atrs_host_request(host, request);
    if (answer == NULL) {
        fprintf(stderr, "%s: no answer (out of memory)\n", step);
        exit(1);
    }
    printf("%s %s\n", step, answer);
    fflush(stdout);
    return answer;
}

static int ok(const char *answer) { return strstr(answer, "\"ok\":true") != NULL; }

/* The value of "state" in an answer, copied into `out`. */
static void state_of(const char *answer, char *out, size_t size) {
    const char *at = strstr(answer, "\"state\":\"");
    out[0] = '\0';
    if (at == NULL) return;
    at += strlen("\"state\":\"");
    size_t n = strcspn(at, "\"");
    if (n >= size) n = size - 1;
    memcpy(out, at, n);
    out[n] = '\0';
}

static unsigned long long handle_of(const char *answer) {
    const char *at = strstr(answer, "\"handle\":");
    return at == NULL ? 0 : strtoull(at + strlen("\"handle\":"), NULL, 10);
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s PLUGINS_DIR STORE_DIR AUTHORITY CLIENT_ID TENANT_ID ACCOUNT\n", argv[0]);
        return 2;
    }
    char request[4096];
    snprintf(request, sizeof request,
             "{\"plugins_dir\":\"%s\",\"store\":\"%s\",\"call_timeout_ms\":30000}", argv[1], argv[2]);
    char *error = NULL;
    AtrsHost *host = atrs_host_open(request, &error);
    if (host == NULL) {
        printf("open %s\n", error ? error : "(no error text)");
        atrs_host_free(error);
        return 1;
    }
    printf("protocol %s\n", atrs_host_protocol_version());

    int failed = 0;
    char *answer = ask(host, "plugins", "{\"request\":\"plugins\"}");
    failed |= !ok(answer);
    atrs_host_free(answer);

    answer = ask(host, "form", "{\"request\":\"form\",\"plugin\":\"office365\"}");
    failed |= !ok(answer);
    atrs_host_free(answer);

    snprintf(request, sizeof request,
             "{\"request\":\"verify.start\",\"plugin\":\"office365\",\"method\":\"device_code\","
             "\"values\":{\"account_name\":\"%s\",\"client_id\":\"%s\",\"tenant_id\":\"%s\",\"authority\":\"%s\"}}",
             argv[6], argv[4], argv[5], argv[3]);
    answer = ask(host, "verify.start", request);
    unsigned long long session = handle_of(answer);
    failed |= !ok(answer) || session == 0;
    atrs_host_free(answer);

    /* Each poll waits up to half a second for a change: at most 60 s in all. */
    char state[32] = "";
    for (int i = 0; i < 120 && !failed; i++) {
        snprintf(request, sizeof request, "{\"request\":\"verify.poll\",\"handle\":%llu,\"wait_ms\":500}", session);
        answer = ask(host, "verify.poll", request);
        state_of(answer, state, sizeof state);
        atrs_host_free(answer);
        if (strcmp(state, "verified") == 0 || strcmp(state, "failed") == 0) break;
    }
    failed |= strcmp(state, "verified") != 0;

    if (!failed) {
        snprintf(request, sizeof request, "{\"request\":\"save\",\"handle\":%llu}", session);
        answer = ask(host, "save", request);
        failed |= !ok(answer);
        atrs_host_free(answer);
    }
    if (!failed) {
        snprintf(request, sizeof request, "{\"request\":\"token\",\"account\":\"%s\"}", argv[6]);
        answer = ask(host, "token", request);
        failed |= !ok(answer);
        atrs_host_free(answer);
    }
    atrs_host_close(host);
    printf("%s\n", failed ? "FAILED" : "DONE");
    return failed ? 1 : 0;
}
