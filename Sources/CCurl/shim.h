#ifndef COHORT_CCURL_SHIM_H
#define COHORT_CCURL_SHIM_H
#include <curl/curl.h>

/* curl_easy_setopt is variadic: Swift cannot call it, so each argument kind gets a typed wrapper. */
static inline CURLcode cohort_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode cohort_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode cohort_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode cohort_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
#endif
