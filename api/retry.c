/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Retry policy: what may be sent again, and when. Pure functions. */
#include <curl/curl.h>

#include "pvfio/api.h"

/* Failures that say nothing about the request itself: the path to the server broke. */
static bool transient(int code) {
        switch ((CURLcode)code) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_AGAIN:
                return true;
        default:
                return false;
        }
}

enum pv_api_verdict pv_api_retry_classify(bool idempotent, int curl_code, long http_status, bool request_sent) {
        if (curl_code == 0) {
                /* an answer arrived: only the gateway/overload statuses are worth another try */
                if (http_status == 502 || http_status == 503 || http_status == 596)
                        return idempotent ? PV_API_RETRY : PV_API_UNCERTAIN;
                return PV_API_FINAL;
        }
        if (!request_sent)
                return transient(curl_code) ? PV_API_RETRY : PV_API_FINAL;
        if (idempotent)
                return transient(curl_code) ? PV_API_RETRY : PV_API_FINAL;
        /* a write went out and no complete answer came back: it may have taken effect */
        return PV_API_UNCERTAIN;
}

unsigned pv_api_backoff_ms(unsigned retry, unsigned base_ms, unsigned max_ms, uint32_t rnd) {
        if (retry == 0)
                return 0;
        uint64_t d = base_ms;
        for (unsigned i = 1; i < retry && d < max_ms; i++)
                d *= 2;
        if (d > max_ms)
                d = max_ms;
        uint64_t half = d / 2;
        return (unsigned)(d - half + (half ? rnd % (half + 1) : 0));
}

bool pv_api_retry_allowed(bool idempotent, unsigned attempt, unsigned max_attempts, uint64_t elapsed_ms,
                          unsigned delay_ms, unsigned retry_ms) {
        if (max_attempts && attempt >= max_attempts)
                return false;
        if (!idempotent)
                /* a write that never reached the server: a bounded number of tries, as always */
                return max_attempts ? true : attempt < PV_API_DEFAULT_ATTEMPTS;
        /* a read: as long as the next try starts within the retry time */
        return elapsed_ms + delay_ms <= retry_ms;
}
