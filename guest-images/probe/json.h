/* Streaming JSON writer for stdout.
 *
 * The probe writes its result as it goes (and flushes after every step), so
 * that a probe killed by a crash or a hung syscall still leaves a readable
 * prefix for the host to diagnose. Commas are managed here so callers only
 * describe structure.
 */
#ifndef PROBE_JSON_H
#define PROBE_JSON_H

#include <stdbool.h>
#include <stddef.h>

void json_begin_object(void);
void json_end_object(void);
void json_begin_array(void);
void json_end_array(void);
void json_key(const char *key);

void json_string(const char *s);
void json_int(long long v);
void json_uint(unsigned long long v);
/* u64 addresses and offsets are written as "0x..." strings: a JSON number
 * goes through a double on the host and loses bits above 2^53. */
void json_hex(unsigned long long v);
void json_hexbytes(const void *data, size_t len);
void json_bool(bool v);
void json_null(void);

void json_kv_string(const char *key, const char *s); /* NULL -> null */
void json_kv_int(const char *key, long long v);
void json_kv_uint(const char *key, unsigned long long v);
void json_kv_hex(const char *key, unsigned long long v);
void json_kv_bool(const char *key, bool v);
void json_kv_null(const char *key);

/* Ends the top-level value with a newline and flushes. Returns 0, or -1 if
 * stdout reported a write error at any point. */
int json_finish(void);
void json_flush(void);

/* For when the probe itself cannot run: prints {"error": msg} as the whole
 * document and returns exit status 1. */
int json_error_document(const char *msg);

#endif
