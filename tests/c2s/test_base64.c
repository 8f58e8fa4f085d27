/*
 * test_base64.c — c2s's base64 for SASL data: RFC 4648 test vectors both
 * ways, and everything that is not canonical padded base64 refused
 * (whitespace, missing padding, stray characters, non-zero hidden bits).
 */
#include <string.h>

#include "c2s.h"
#include "unit.h"

static const struct { const char *plain, *b64; } vectors[] = {
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

START_TEST(test_base64_rfc4648_vectors_decode)
{
	unsigned char out[16];
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		ssize_t n = base64_decode(vectors[i].b64, strlen(vectors[i].b64), out);
		ck_assert_int_eq(n, (ssize_t)strlen(vectors[i].plain));
		ck_assert(memcmp(out, vectors[i].plain, (size_t)n) == 0);
	}
}
END_TEST

START_TEST(test_base64_rfc4648_vectors_encode)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct buf b = BUF_INIT;
		base64_encode((const unsigned char *)vectors[i].plain, strlen(vectors[i].plain), &b);
		ck_assert_uint_eq(buf_used(&b), strlen(vectors[i].b64));
		ck_assert(memcmp(buf_head(&b), vectors[i].b64, buf_used(&b)) == 0);
		buf_free(&b);
	}
}
END_TEST

START_TEST(test_base64_refuses_what_is_not_canonical)
{
	static const char *const bad[] = {
		"Zg", "Zg=", "Zm9v\n", "Zm 9v", "Zg==Zg==", "Z===", "Zh==", "Zm9=", "Zm9v!A==",
		"=Zg=", "Zm=v",
	};
	unsigned char out[16];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(base64_decode(bad[i], strlen(bad[i]), out) < 0, "accepted %s", bad[i]);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("c2s_base64");
	TCase *tc = tcase_create("base64");
	tcase_add_test(tc, test_base64_rfc4648_vectors_decode);
	tcase_add_test(tc, test_base64_rfc4648_vectors_encode);
	tcase_add_test(tc, test_base64_refuses_what_is_not_canonical);
	suite_add_tcase(s, tc);
	return s;
}
