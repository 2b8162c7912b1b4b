#include "json.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_DEPTH 32

/* has_items[d] says whether the container at depth d already holds a value,
 * i.e. whether the next value or key needs a comma first. */
static bool has_items[MAX_DEPTH];
static int depth;
static bool after_key;

static void separate(void)
{
	if (after_key) {
		after_key = false;
		return;
	}
	if (depth > 0) {
		if (has_items[depth])
			putchar(',');
		has_items[depth] = true;
	}
}

static void push(char c)
{
	separate();
	putchar(c);
	/* Nesting is fixed by the code, not by input: overflowing is a bug. */
	if (++depth >= MAX_DEPTH)
		abort();
	has_items[depth] = false;
}

static void pop(char c)
{
	if (depth <= 0 || after_key)
		abort();
	depth--;
	putchar(c);
}

void json_begin_object(void) { push('{'); }
void json_end_object(void) { pop('}'); }
void json_begin_array(void) { push('['); }
void json_end_array(void) { pop(']'); }

static void put_escaped(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", stdout); break;
		case '\\': fputs("\\\\", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		case '\b': fputs("\\b", stdout); break;
		case '\f': fputs("\\f", stdout); break;
		default:
			/* Bytes >= 0x80 are escaped one by one rather than passed
			 * through: paths and sysfs text are not guaranteed UTF-8,
			 * and invalid UTF-8 would make the whole document
			 * unparsable. The host sees them as U+0080..U+00FF. */
			if (*p < 0x20 || *p >= 0x7f)
				printf("\\u%04x", *p);
			else
				putchar(*p);
		}
	}
	putchar('"');
}

void json_key(const char *key)
{
	separate();
	put_escaped(key);
	putchar(':');
	after_key = true;
}

void json_string(const char *s)
{
	if (!s) {
		json_null();
		return;
	}
	separate();
	put_escaped(s);
}

void json_int(long long v)
{
	separate();
	printf("%lld", v);
}

void json_uint(unsigned long long v)
{
	separate();
	printf("%llu", v);
}

void json_hex(unsigned long long v)
{
	separate();
	printf("\"0x%llx\"", v);
}

void json_hexbytes(const void *data, size_t len)
{
	const unsigned char *p = data;

	separate();
	putchar('"');
	for (size_t i = 0; i < len; i++)
		printf("%02x", p[i]);
	putchar('"');
}

void json_bool(bool v)
{
	separate();
	fputs(v ? "true" : "false", stdout);
}

void json_null(void)
{
	separate();
	fputs("null", stdout);
}

void json_kv_string(const char *key, const char *s) { json_key(key); json_string(s); }
void json_kv_int(const char *key, long long v) { json_key(key); json_int(v); }
void json_kv_uint(const char *key, unsigned long long v) { json_key(key); json_uint(v); }
void json_kv_hex(const char *key, unsigned long long v) { json_key(key); json_hex(v); }
void json_kv_bool(const char *key, bool v) { json_key(key); json_bool(v); }
void json_kv_null(const char *key) { json_key(key); json_null(); }

void json_flush(void)
{
	fflush(stdout);
}

int json_finish(void)
{
	putchar('\n');
	if (fflush(stdout) != 0 || ferror(stdout))
		return -1;
	return 0;
}

int json_error_document(const char *msg)
{
	json_begin_object();
	json_kv_string("error", msg);
	json_end_object();
	json_finish();
	return 1;
}
